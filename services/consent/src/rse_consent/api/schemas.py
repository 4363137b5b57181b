"""Consent's request bodies and response views, and how views are made from what is read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from rse_consent.domain.consent import Consent, Grantee, Status, Validity
from rse_consent.projections import AccessEntry, AlertEntry, ConsentEntry, Review
from rse_consent.proxy_actions import ProxyActionEntry
from rse_shared.api import Strict
from rse_shared.contracts.consent import Category, GranteeKind, Purpose
from rse_shared.contracts.records import Action, ActorRole, Decision, Relationship, ReviewOutcome
from rse_shared.fhir import ConsentFacts

CategoryOrAll = Literal[
    "health_summary", "vaccinations", "prescriptions", "care_plan", "referrals", "all"
]
GranteeId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="skip this many items first")]
FHIR_JSON = "application/fhir+json"


class GranteeBody(Strict):
    """One professional (practitioner id), one health unit (its id), or all SNS professionals."""

    kind: GranteeKind
    id: GranteeId | None = None


class ConsentRequest(Strict):
    """A consent to grant: from now (or `valid_from`) until `valid_until`, or open-ended."""

    grantee: GranteeBody
    categories: Annotated[list[CategoryOrAll], Field(min_length=1, max_length=6)]
    purpose: Purpose = "treatment"
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ConsentRequest:
        # Grantee rules are the domain's; InvalidConsent is a ValueError, so a 422 here.
        Grantee(self.grantee.kind, self.grantee.id)
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class GranteeView(BaseModel):
    """Who the consent lets read."""

    kind: GranteeKind
    id: str | None


class ConsentView(BaseModel):
    """A consent as it stood at an instant (now, or the `as_of` asked for)."""

    consent_id: uuid.UUID
    citizen_id: uuid.UUID
    grantee: GranteeView
    categories: list[Category]
    purpose: Purpose
    status: Status
    granted_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    expired_at: datetime | None
    given_by: str | None = None  # the proxy (citizen id) who gave it for the citizen


class EntryView(BaseModel):
    """An entry viewed or written: its id and kind, never its value."""

    id: str
    kind: str


class ReviewView(BaseModel):
    """An auditor's judgement of an emergency access."""

    outcome: ReviewOutcome
    note: str
    by: str
    at: datetime

    @classmethod
    def of(cls, review: Review) -> ReviewView:
        return cls(outcome=review.outcome, note=review.note, by=review.by, at=review.at)


class OnBehalfView(BaseModel):
    """What a proxy did for the citizen: by whom, for whom, under which relationship."""

    by: str  # the proxy's citizen id
    on_behalf_of: uuid.UUID  # the citizen
    relationship_id: uuid.UUID
    kind: str  # legal_guardian, informal_caregiver, healthcare_proxy
    did: str  # what, as the integration event names it (AppointmentBooked, ConsentGranted...)
    summary: str


class AccessView(BaseModel):
    """Who read, wrote or listed what, in which role, when, why, under which consent or care
    relationship (metadata only); an emergency's review once an auditor made it."""

    access_id: uuid.UUID
    action: Action
    role: ActorRole | Literal["proxy"]
    actor_id: str
    practitioner_id: str | None
    health_unit: str | None
    categories: list[Category]
    entries: list[EntryView]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: uuid.UUID | None
    relationship: Relationship | None
    review: ReviewView | None
    accessed_at: datetime
    # A proxy's action (role "proxy", actor_id the proxy): "by X on behalf of Y".
    on_behalf: OnBehalfView | None = None

    @classmethod
    def of(cls, entry: AccessEntry) -> AccessView:
        """The access as the citizen (or an auditor) sees it."""
        return cls(
            access_id=uuid.UUID(entry.id),
            action=entry.action,
            role=entry.role,
            actor_id=entry.actor_id or entry.practitioner_id or "",
            practitioner_id=entry.practitioner_id,
            health_unit=entry.health_unit,
            categories=list(entry.categories),
            entries=[EntryView(id=e.id, kind=e.kind) for e in entry.entries],
            purpose=entry.purpose,
            emergency_reason=entry.emergency_reason,
            decision=entry.decision,
            consent_id=uuid.UUID(entry.consent_id) if entry.consent_id else None,
            relationship=entry.relationship,
            review=ReviewView.of(entry.review) if entry.review else None,
            accessed_at=entry.accessed_at,
        )

    @classmethod
    def of_proxy_action(cls, entry: ProxyActionEntry) -> AccessView:
        """A proxy's action for the citizen, in the citizen's history."""
        return cls(
            access_id=uuid.uuid5(uuid.NAMESPACE_URL, f"proxy-action:{entry.id}"),
            action="write",
            role="proxy",
            actor_id=entry.actor_id,
            practitioner_id=None,
            health_unit=None,
            categories=[],
            entries=[EntryView(id=e["id"], kind=e["kind"]) for e in entry.entries],
            purpose=None,
            emergency_reason=None,
            decision="permit",
            consent_id=None,
            relationship=None,
            review=None,
            accessed_at=entry.at,
            on_behalf=OnBehalfView(
                by=entry.actor_id,
                on_behalf_of=uuid.UUID(entry.citizen_id),
                relationship_id=uuid.UUID(entry.relationship_id),
                kind=entry.kind,
                did=entry.did,
                summary=f"{entry.did} by {entry.actor_id} ({entry.kind}) "
                f"on behalf of {entry.citizen_id}",
            ),
        )


class AlertView(BaseModel):
    """An alert in the citizen's inbox."""

    alert_id: uuid.UUID
    access_id: uuid.UUID
    practitioner_id: str
    health_unit: str | None
    categories: list[Category]
    decision: Decision
    accessed_at: datetime
    action: Action
    read: bool
    read_at: datetime | None

    @classmethod
    def of(cls, entry: AlertEntry) -> AlertView:
        """The alert as its citizen sees it."""
        return cls(
            alert_id=uuid.UUID(entry.id),
            access_id=uuid.UUID(entry.access_id),
            practitioner_id=entry.practitioner_id,
            health_unit=entry.health_unit,
            categories=list(entry.categories),
            decision=entry.decision,
            accessed_at=entry.accessed_at,
            action=entry.action,
            read=entry.read,
            read_at=entry.read_at,
        )


class AlertSettings(Strict):
    """Whether the citizen is told of every access (emergency access is told regardless)."""

    access_alerts: bool


def consent_view(
    consent_id: uuid.UUID | str,
    citizen_id: uuid.UUID | str,
    grantee: Grantee,
    categories: list[Category],
    purpose: Purpose,
    validity: Validity,
    at: datetime,
    given_by: str | None = None,
) -> ConsentView | None:
    """The consent as it stood at `at`; None if it was not granted yet."""
    state = validity.status_at(at)
    if state is None:
        return None
    # What happened after `at` was not known then: a past view is never rewritten.
    return ConsentView(
        consent_id=uuid.UUID(str(consent_id)),
        citizen_id=uuid.UUID(str(citizen_id)),
        grantee=GranteeView(kind=grantee.kind, id=grantee.id),
        categories=categories,
        purpose=purpose,
        status=state,
        granted_at=validity.granted_at,
        valid_from=validity.valid_from,
        valid_until=validity.valid_until,
        revoked_at=_known(validity.revoked_at, at),
        expired_at=_known(validity.expired_at, at),
        given_by=given_by,
    )


def _known(moment: datetime | None, at: datetime) -> datetime | None:
    return moment if moment is not None and moment <= at else None


def view_of_entry(entry: ConsentEntry, at: datetime) -> ConsentView | None:
    """A consent of the book as it stood at `at`; None if it was not granted yet."""
    return consent_view(
        entry.id,
        entry.citizen_id,
        entry.grantee,
        list(entry.categories),
        entry.purpose,
        entry.validity,
        at,
        entry.given_by,
    )


def view_of_consent(consent: Consent, at: datetime) -> ConsentView:
    """A consent just granted or revoked, as it stands at `at`."""
    view = consent_view(
        consent.id,
        consent.citizen_id,
        consent.grantee,
        list(consent.categories),
        consent.purpose,
        consent.validity,
        at,
        consent.given_by,
    )
    assert view is not None, "a consent just saved exists now"
    return view


def facts_of(entry: ConsentEntry) -> ConsentFacts:
    """A consent of the book, as a FHIR Consent describes it."""
    return ConsentFacts(
        consent_id=entry.id,
        citizen_id=entry.citizen_id,
        grantee_kind=entry.grantee_kind,
        grantee_id=entry.grantee_id,
        categories=entry.categories,
        purpose=entry.purpose,
        granted_at=entry.granted_at,
        valid_from=entry.valid_from,
        valid_until=entry.valid_until,
        revoked_at=entry.revoked_at,
        expired_at=entry.expired_at,
    )
