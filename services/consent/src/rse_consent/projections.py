"""Consent's read models in MongoDB, fed from its own log: consents, accesses, alerts.

Every instant here is an ExactInstant: consent answers for a citizen's history as of any
microsecond, and an auditor compares it with what the topics say, to the microsecond.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pymongo.asynchronous.database import AsyncDatabase

from rse_consent.domain.access import Access
from rse_consent.domain.alert import AccessAlert
from rse_consent.domain.alert_preferences import AlertPreferences
from rse_consent.domain.consent import Consent, Grantee, Validity
from rse_consent.domain.privileged_read import PrivilegedRead
from rse_shared.contracts.consent import Category, GranteeKind, Purpose
from rse_shared.contracts.records import Action, ActorRole, Decision, Relationship, ReviewOutcome
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import Document, ExactInstant, exact

Ending = Literal["granted", "revoked", "expired"]
NEWEST_GRANT = [("granted_at.at", -1), ("granted_at.us", -1)]
NEWEST_ACCESS = [("accessed_at.at", -1), ("accessed_at.us", -1)]


def fields(document: Document) -> dict[str, Any]:
    """A document's stored fields but its `_id`, for the `$set` of an upsert keyed by it."""
    return {k: v for k, v in document.to_mongo().items() if k != "_id"}


class ConsentEntry(Document):
    """A consent in the book, its validity kept to the microsecond to answer for any instant."""

    citizen_id: str
    grantee_kind: GranteeKind
    grantee_id: str | None
    categories: tuple[Category, ...]
    purpose: Purpose
    granted_at: ExactInstant
    valid_from: ExactInstant
    valid_until: ExactInstant | None
    revoked_at: ExactInstant | None = None
    expired_at: ExactInstant | None = None
    state: Ending = "granted"
    given_by: str | None = None  # the proxy who gave it for the citizen

    @property
    def grantee(self) -> Grantee:
        return Grantee(self.grantee_kind, self.grantee_id)

    @property
    def validity(self) -> Validity:
        return Validity(
            self.granted_at, self.valid_from, self.valid_until, self.revoked_at, self.expired_at
        )


class EntryRef(BaseModel):
    """An entry viewed or written: its id and kind, never its value."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: str


class Review(BaseModel):
    """An auditor's judgement of an emergency access."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    outcome: ReviewOutcome
    note: str
    by: str
    at: ExactInstant


class AccessEntry(Document):
    """One access to a citizen's data (records' access id, or a staff read's): metadata only.

    Entries from before `action` and `role` were kept are professionals' reads.
    """

    citizen_id: str
    practitioner_id: str | None
    health_unit: str | None
    categories: tuple[Category, ...]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: str | None
    accessed_at: ExactInstant
    action: Action = "read"
    role: ActorRole = "professional"
    actor_id: str | None = None
    entries: tuple[EntryRef, ...] = ()
    relationship: Relationship | None = None
    review: Review | None = None


class AlertEntry(Document):
    """One alert in a citizen's inbox."""

    citizen_id: str
    access_id: str
    practitioner_id: str
    health_unit: str | None
    categories: tuple[Category, ...]
    decision: Decision
    accessed_at: ExactInstant
    raised_at: ExactInstant
    action: Action = "read"
    read: bool = False
    read_at: ExactInstant | None = None


class AlertChoice(Document):
    """A citizen's choice of access alerts (its `id` is the citizen's)."""

    access_alerts: bool
    changed_at: ExactInstant


class ConsentBook:
    """One document per consent: grantee, categories, validity, and when it ended."""

    name = "consent_book"
    collections: tuple[str, ...] = ("consents",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.consents.create_index("citizen_id")
        await db.consents.create_index("valid_until.at")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events of other aggregates do not change the book."""

    @apply.register(Consent.Granted)
    async def when_consent_granted_enter_it(
        self, event: Consent.Granted, position: int, db: AsyncDatabase[Any]
    ) -> None:
        entry = ConsentEntry(
            id=str(event.originator_id),
            citizen_id=str(event.citizen_id),
            grantee_kind=event.grantee_kind,
            grantee_id=event.grantee_id,
            categories=tuple(event.categories),
            purpose=event.purpose,
            granted_at=event.granted_at,
            valid_from=event.valid_from,
            valid_until=event.valid_until,
            given_by=getattr(event, "given_by", None),
        )
        await guarded_upsert(db.consents, {"_id": entry.id}, position, {"$set": fields(entry)})

    @apply.register(Consent.Revoked)
    async def when_consent_revoked_end_it(
        self, event: Consent.Revoked, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await guarded_upsert(
            db.consents,
            {"_id": str(event.originator_id)},
            position,
            {"$set": {"revoked_at": exact(event.revoked_at), "state": "revoked"}},
        )

    @apply.register(Consent.Expired)
    async def when_consent_expired_end_it(
        self, event: Consent.Expired, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await guarded_upsert(
            db.consents,
            {"_id": str(event.originator_id)},
            position,
            {"$set": {"expired_at": exact(event.expired_at), "state": "expired"}},
        )


class AccessHistory:
    """One document per access to a citizen's data: who, in which role, what, when, why."""

    name = "access_history"
    collections: tuple[str, ...] = ("accesses",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.accesses.create_index("citizen_id")
        await db.accesses.create_index("accessed_at.at")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events of other aggregates do not change the history."""

    @apply.register(Access.Recorded)
    async def when_access_recorded_add_it(
        self, event: Access.Recorded, position: int, db: AsyncDatabase[Any]
    ) -> None:
        entry = AccessEntry(
            id=str(event.access_id),
            citizen_id=str(event.citizen_id),
            practitioner_id=event.practitioner_id,
            health_unit=event.health_unit,
            categories=tuple(event.categories),
            purpose=event.purpose,
            emergency_reason=event.emergency_reason,
            decision=event.decision,
            consent_id=str(event.consent_id) if event.consent_id else None,
            accessed_at=event.accessed_at,
            action=event.action,
            role=event.role,
            actor_id=event.actor_id or event.practitioner_id,
            entries=tuple(EntryRef(**e) for e in event.entries),
            relationship=event.relationship,
        )
        await guarded_upsert(db.accesses, {"_id": entry.id}, position, {"$set": fields(entry)})

    @apply.register(PrivilegedRead.Recorded)
    async def when_staff_read_add_it(
        self, event: PrivilegedRead.Recorded, position: int, db: AsyncDatabase[Any]
    ) -> None:
        entry = AccessEntry(
            id=str(event.read_id),
            citizen_id=str(event.citizen_id),
            practitioner_id=None,
            health_unit=None,
            categories=(),
            purpose=event.purpose,
            emergency_reason=None,
            decision="permit",
            consent_id=None,
            accessed_at=event.read_at,
            action="read",
            role=event.role,
            actor_id=event.actor_id,
            entries=tuple(EntryRef.model_validate(e) for e in event.entries),
        )
        await guarded_upsert(db.accesses, {"_id": entry.id}, position, {"$set": fields(entry)})

    @apply.register(Access.Reviewed)
    async def when_access_reviewed_show_the_outcome(
        self, event: Access.Reviewed, position: int, db: AsyncDatabase[Any]
    ) -> None:
        review = Review(
            outcome=event.outcome, note=event.note, by=event.reviewed_by, at=event.reviewed_at
        )
        # Keyed by records' access id, as the access it reviews (not the aggregate's id).
        await guarded_upsert(
            db.accesses,
            {"_id": str(event.access_id)},
            position,
            {"$set": {"review": review.model_dump()}},
        )


class AlertInbox:
    """Each citizen's access alerts (read or not) and whether they opted in to them."""

    name = "alert_inbox"
    collections: tuple[str, ...] = ("alerts", "alert_preferences")

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.alerts.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events of other aggregates do not change the inbox."""

    @apply.register(AccessAlert.Raised)
    async def when_alert_raised_deliver_it(
        self, event: AccessAlert.Raised, position: int, db: AsyncDatabase[Any]
    ) -> None:
        entry = AlertEntry(
            id=str(event.originator_id),
            citizen_id=str(event.citizen_id),
            access_id=str(event.access_id),
            practitioner_id=event.practitioner_id,
            health_unit=event.health_unit,
            categories=tuple(event.categories),
            decision=event.decision,
            accessed_at=event.accessed_at,
            raised_at=event.timestamp,
            action=event.action,
        )
        await guarded_upsert(db.alerts, {"_id": entry.id}, position, {"$set": fields(entry)})

    @apply.register(AccessAlert.Read)
    async def when_alert_read_mark_it(
        self, event: AccessAlert.Read, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await guarded_upsert(
            db.alerts,
            {"_id": str(event.originator_id)},
            position,
            {"$set": {"read": True, "read_at": exact(event.read_at)}},
        )

    @apply.register(AlertPreferences.OptedIn)
    async def when_opted_in_turn_alerts_on(
        self, event: AlertPreferences.OptedIn, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await choose(
            db,
            position,
            AlertChoice(id=str(event.citizen_id), access_alerts=True, changed_at=event.at),
        )

    @apply.register(AlertPreferences.OptedOut)
    async def when_opted_out_turn_alerts_off(
        self, event: AlertPreferences.OptedOut, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await choose(
            db,
            position,
            AlertChoice(id=str(event.citizen_id), access_alerts=False, changed_at=event.at),
        )


async def choose(db: AsyncDatabase[Any], position: int, choice: AlertChoice) -> None:
    await guarded_upsert(
        db.alert_preferences, {"_id": choice.id}, position, {"$set": fields(choice)}
    )


async def consents_of(db: AsyncDatabase[Any], citizen_id: str) -> list[ConsentEntry]:
    """Every consent of the citizen, newest grant first."""
    return ConsentEntry.all(
        await db.consents.find({"citizen_id": citizen_id}).sort(NEWEST_GRANT).to_list()
    )


async def find_consent(
    db: AsyncDatabase[Any], citizen_id: str, consent_id: str
) -> ConsentEntry | None:
    """The citizen's consent in the book; another citizen's is as missing as an unknown one."""
    return ConsentEntry.of(
        await db.consents.find_one({"_id": consent_id, "citizen_id": citizen_id})
    )


async def due_to_expire(db: AsyncDatabase[Any], now: datetime) -> list[str]:
    """Consents neither revoked nor lapsed whose end date is now or past (open-ended never).

    The millisecond may find a consent due a little early: the aggregate decides.
    """
    docs = await db.consents.find(
        {"state": "granted", "valid_until.at": {"$lte": now}}, {"_id": 1}
    ).to_list()
    return [str(d["_id"]) for d in docs]


async def accesses_of(
    db: AsyncDatabase[Any], citizen_id: str, *, limit: int, offset: int
) -> list[AccessEntry]:
    """The citizen's access history, most recent first."""
    return AccessEntry.all(
        await db.accesses.find({"citizen_id": citizen_id})
        .sort(NEWEST_ACCESS)
        .skip(offset)
        .limit(limit)
        .to_list()
    )


async def alerts_of(
    db: AsyncDatabase[Any], citizen_id: str, *, unread_only: bool, limit: int, offset: int
) -> list[AlertEntry]:
    """The citizen's alert inbox, most recent access first."""
    query: dict[str, Any] = {"citizen_id": citizen_id}
    if unread_only:
        query["read"] = False
    return AlertEntry.all(
        await db.alerts.find(query).sort(NEWEST_ACCESS).skip(offset).limit(limit).to_list()
    )


async def access_alerts_enabled(db: AsyncDatabase[Any], citizen_id: str) -> bool:
    """Whether the citizen opted in to an alert for every access."""
    choice = AlertChoice.of(await db.alert_preferences.find_one({"_id": citizen_id}))
    return choice is not None and choice.access_alerts
