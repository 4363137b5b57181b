"""The write decision: which care relationship lets this writer add to this record, if any."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from rse_records.domain.access_decision import consents_naming
from rse_records.domain.care_team import CareTeam
from rse_records.domain.consent_register import ConsentRegister
from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import ActorRole, Relationship


@dataclass(frozen=True)
class Writer:
    """Who writes, as their access token names them."""

    actor_id: str
    role: ActorRole
    health_unit: str | None = None
    hospital: str | None = None

    @property
    def practitioner_id(self) -> str | None:
        return self.actor_id if self.role == "professional" else None


@dataclass(frozen=True)
class CareRelationship:
    """What a write relied on; `consent_id` when it is a consent."""

    relationship: Relationship
    consent_id: uuid.UUID | None = None


def relationship_of(
    team: CareTeam | None,
    register: ConsentRegister | None,
    writer: Writer,
    category: Category,
    now: datetime,
) -> CareRelationship | None:
    """The closest tie between writer and citizen for this category; None if there is none.

    Decided from the care team and the consents alone, never from the record, so that a
    stranger learns nothing of whether the record exists or is closed.
    """
    if team is not None and writer.role == "professional":
        if team.family_doctor is not None and team.family_doctor == writer.actor_id:
            return CareRelationship("family_doctor")
        if team.health_unit is not None and team.health_unit == writer.health_unit:
            return CareRelationship("health_unit")
    if writer.role == "professional":
        consent = named_consent(register, writer, category, now)
        if consent is not None:
            return CareRelationship("consent", consent)
    hospital = writer.hospital if writer.role == "hospital_staff" else None
    if team is not None and hospital and hospital in team.open_hospitals():
        return CareRelationship("referral_hospital")
    return None


def named_consent(
    register: ConsentRegister | None, writer: Writer, category: Category, now: datetime
) -> uuid.UUID | None:
    """A consent in force naming the writer or their unit for the category (all-SNS is not
    a named tie: it lets every professional read, not write)."""
    for terms in consents_naming(register, writer.actor_id, writer.health_unit, now):
        if terms.grantee_kind != "all_sns" and terms.covers([category]):
            return terms.consent_id
    return None
