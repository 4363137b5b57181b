"""Integration events published by the identity service on `identity.events`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rse_shared.contracts.envelope import IntegrationEvent, contract, register_as
from rse_shared.contracts.sealed import SealedEvent


def coming_of_age(born: date) -> date:
    """The 18th birthday (29 February births turn 18 on 1 March in common years)."""
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


@contract
class CitizenRegistered(IntegrationEvent):
    """A citizen joined the citizen's area (no contacts, NIF or credentials on the wire).

    Version 2 carries the day the citizen comes of age, not their date of birth: benefits'
    minor rule is all that asks for an age. A version 1 document (`date_of_birth`) reads as
    version 2.
    """

    schema_version: ClassVar[int] = 2
    protected_fields: ClassVar[tuple[str, ...]] = ("sns_number", "full_name", "adult_on")

    sns_number: str
    full_name: str
    adult_on: date = Field(description="The citizen's 18th birthday.")

    @model_validator(mode="before")
    @classmethod
    def _from_date_of_birth(cls, data: Any) -> Any:
        if isinstance(data, dict) and "adult_on" not in data and "date_of_birth" in data:
            born = data["date_of_birth"]
            born = born if isinstance(born, date) else date.fromisoformat(str(born))
            data = {**data, "adult_on": coming_of_age(born)}
        return data


register_as(CitizenRegistered, 1)


@contract
class CitizenActivated(IntegrationEvent):
    """The citizen proved who they are (the identity provider, or a counter's code): their
    account opened."""

    method: Literal["oidc", "counter"]


@contract
class PersonalDataUpdated(IntegrationEvent):
    """Contacts or address changed; lists which fields, not their values."""

    changed_fields: tuple[str, ...]


@contract
class FamilyDoctorAssigned(IntegrationEvent):
    """An operator assigned the citizen's family doctor."""

    practitioner_id: str
    health_unit: str


@contract
class CitizenDeregistered(IntegrationEvent):
    """The citizen left the SNS register (death or emigration); history is kept."""

    reason: Literal["death", "emigration"]
    effective_date: date


@contract
class PersonalDataRead(IntegrationEvent):
    """An operator read the citizen's personal data, for a stated purpose (no values read)."""

    read_id: uuid.UUID
    actor_id: str
    role: Literal["operator"]
    purpose: str = Field(min_length=1)
    read_at: datetime


ProxyKind = Literal["legal_guardian", "informal_caregiver", "healthcare_proxy"]


@contract
class ProxyEstablished(IntegrationEvent):
    """An operator, having checked the documents, made `proxy_id` the legal guardian of the
    minor `citizen_id`, in force from `valid_from` until the 18th birthday `valid_until`."""

    protected_fields: ClassVar[tuple[str, ...]] = ("documents",)

    relationship_id: uuid.UUID
    kind: ProxyKind
    proxy_id: uuid.UUID
    scopes: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    established_by: str
    documents: str  # what the operator checked (a reference, never the document itself)


@contract
class ProxyAppointed(IntegrationEvent):
    """The citizen (or an operator, for a RENTEV healthcare proxy) appointed `proxy_id` to act
    for them within `scopes`; it is in force once the proxy accepts."""

    protected_fields: ClassVar[tuple[str, ...]] = ("rentev_reference",)

    relationship_id: uuid.UUID
    kind: ProxyKind
    proxy_id: uuid.UUID
    scopes: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    appointed_by: str
    rentev_reference: str | None = None


@contract
class ProxyAccepted(IntegrationEvent):
    """The proxy accepted to act for the citizen: the relationship is in force."""

    relationship_id: uuid.UUID
    proxy_id: uuid.UUID


@contract
class ProxyRevoked(IntegrationEvent):
    """The citizen (or an operator) revoked the relationship: refuse it from `revoked_at`."""

    relationship_id: uuid.UUID
    proxy_id: uuid.UUID
    revoked_by: str
    revoked_at: datetime


@contract
class ProxyEnded(IntegrationEvent):
    """The relationship ended by itself (`reason`: "came of age", "period over")."""

    relationship_id: uuid.UUID
    proxy_id: uuid.UUID
    reason: str
    ended_at: datetime


@contract
class TokenRevoked(IntegrationEvent):
    """A session's access tokens were revoked before they expire (logout or an operator).

    `citizen_id` is the account's id (the token's `sub`), a citizen's or a staff member's.
    Every service refuses tokens with this `jti` or `session_id` until `expires_at`.
    """

    subject: str
    jti: str
    session_id: str | None = None
    reason: Literal["logout", "operator"]
    revoked_at: datetime
    expires_at: datetime


@contract
class StaffDeactivated(IntegrationEvent):
    """An operator deactivated a staff account; its tokens issued until now stop working.

    `citizen_id` is the account's id (the tokens' `sub`).
    """

    subject: str
    role: str
    deactivated_at: datetime
    tokens_expire_by: datetime


@contract
class StaffReactivated(IntegrationEvent):
    """An operator reactivated a staff account: it may log in again (old tokens stay void)."""

    subject: str
    role: str
    reactivated_at: datetime


@contract
class ContactsSealed(SealedEvent):
    """The citizen's contacts, sealed to notifications; on `identity.contacts` only.

    Sealed payload: `email`, `phone`. Published when the citizen registers and whenever
    the e-mail or the phone changes.
    """

    channel_subject = "contacts"


ErasureBasis = Literal["wrongly_registered", "legal_order", "retention"]


@contract
class CitizenErased(IntegrationEvent):
    """An operator erased the citizen: their data key is destroyed, so every copy of their
    personal and clinical values (stores, topics) is unreadable; every service deletes its
    documents of them. Only what the law lets be kept is here: when, by whom, on what basis."""

    legal_basis: ErasureBasis
    reference: str  # the order, case or rule it follows (never personal data)
    erased_by: str
    erased_at: datetime


__all__ = [
    "CitizenActivated",
    "CitizenDeregistered",
    "CitizenErased",
    "CitizenRegistered",
    "ContactsSealed",
    "FamilyDoctorAssigned",
    "PersonalDataRead",
    "PersonalDataUpdated",
    "ProxyAccepted",
    "ProxyAppointed",
    "ProxyEnded",
    "ProxyEstablished",
    "ProxyRevoked",
    "StaffDeactivated",
    "StaffReactivated",
    "TokenRevoked",
    "coming_of_age",
]
