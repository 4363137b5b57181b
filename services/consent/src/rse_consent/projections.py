"""Consent's read models in MongoDB, fed from its own log: consents, accesses, alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_consent.domain.access import Access
from rse_consent.domain.alert import AccessAlert
from rse_consent.domain.alert_preferences import AlertPreferences
from rse_consent.domain.consent import Consent, Validity
from rse_shared.projection import guarded_upsert


def stamp(at: datetime | None) -> str | None:
    """UTC, fixed width, microseconds kept: such strings sort as the instants they name."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at else None


def instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class ConsentBook:
    """One document per consent: grantee, categories, validity, and when it ended."""

    name = "consent_book"
    collections: tuple[str, ...] = ("consents",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.consents.create_index("citizen_id")
        await db.consents.create_index("valid_until")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events of other aggregates do not change the book."""

    @apply.register(Consent.Granted)
    async def _(self, event: Consent.Granted, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.consents, {"_id": str(event.originator_id)}, position, {"$set": {
            "citizen_id": str(event.citizen_id), "grantee_kind": event.grantee_kind,
            "grantee_id": event.grantee_id, "categories": list(event.categories),
            "purpose": event.purpose, "granted_at": stamp(event.granted_at),
            "valid_from": stamp(event.valid_from), "valid_until": stamp(event.valid_until),
            "revoked_at": None, "expired_at": None, "state": "granted",
        }})

    @apply.register(Consent.Revoked)
    async def _(self, event: Consent.Revoked, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.consents, {"_id": str(event.originator_id)}, position,
                             {"$set": {"revoked_at": stamp(event.revoked_at), "state": "revoked"}})

    @apply.register(Consent.Expired)
    async def _(self, event: Consent.Expired, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.consents, {"_id": str(event.originator_id)}, position,
                             {"$set": {"expired_at": stamp(event.expired_at), "state": "expired"}})


class AccessHistory:
    """One document per access to a citizen's record: who, which categories, when, why."""

    name = "access_history"
    collections: tuple[str, ...] = ("accesses",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.accesses.create_index("citizen_id")
        await db.accesses.create_index("accessed_at")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events of other aggregates do not change the history."""

    @apply.register(Access.Recorded)
    async def _(self, event: Access.Recorded, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.accesses, {"_id": str(event.access_id)}, position, {"$set": {
            "citizen_id": str(event.citizen_id), "practitioner_id": event.practitioner_id,
            "health_unit": event.health_unit, "categories": list(event.categories),
            "purpose": event.purpose, "emergency_reason": event.emergency_reason,
            "decision": event.decision,
            "consent_id": str(event.consent_id) if event.consent_id else None,
            "accessed_at": stamp(event.accessed_at),
        }})


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
    async def _(self, event: AccessAlert.Raised, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.alerts, {"_id": str(event.originator_id)}, position, {"$set": {
            "citizen_id": str(event.citizen_id), "access_id": str(event.access_id),
            "practitioner_id": event.practitioner_id, "health_unit": event.health_unit,
            "categories": list(event.categories), "decision": event.decision,
            "accessed_at": stamp(event.accessed_at), "raised_at": stamp(event.timestamp),
            "read": False, "read_at": None,
        }})

    @apply.register(AccessAlert.Read)
    async def _(self, event: AccessAlert.Read, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.alerts, {"_id": str(event.originator_id)}, position,
                             {"$set": {"read": True, "read_at": stamp(event.read_at)}})

    @apply.register(AlertPreferences.OptedIn)
    async def _(self, event: AlertPreferences.OptedIn, position: int,
                db: AsyncDatabase[Any]) -> None:
        await _choose(db, event, position, enabled=True)

    @apply.register(AlertPreferences.OptedOut)
    async def _(self, event: AlertPreferences.OptedOut, position: int,
                db: AsyncDatabase[Any]) -> None:
        await _choose(db, event, position, enabled=False)


async def _choose(db: AsyncDatabase[Any], event: Any, position: int, enabled: bool) -> None:
    await guarded_upsert(db.alert_preferences, {"_id": str(event.citizen_id)}, position,
                         {"$set": {"access_alerts": enabled, "changed_at": stamp(event.at)}})


def validity_of(doc: dict[str, Any]) -> Validity:
    """A consent document's validity, to answer for any instant."""
    granted_at, valid_from = instant(doc["granted_at"]), instant(doc["valid_from"])
    assert granted_at is not None and valid_from is not None
    return Validity(granted_at, valid_from, instant(doc["valid_until"]),
                    instant(doc["revoked_at"]), instant(doc["expired_at"]))


async def consents_of(db: AsyncDatabase[Any], citizen_id: str) -> list[dict[str, Any]]:
    """Every consent of the citizen, newest grant first."""
    docs: list[dict[str, Any]] = await db.consents.find(
        {"citizen_id": citizen_id}).sort("granted_at", -1).to_list()
    return docs


async def find_consent(db: AsyncDatabase[Any], citizen_id: str,
                       consent_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db.consents.find_one(
        {"_id": consent_id, "citizen_id": citizen_id})
    return doc


async def due_to_expire(db: AsyncDatabase[Any], now: datetime) -> list[str]:
    """Consents neither revoked nor lapsed whose end date is now or past (open-ended never)."""
    docs = await db.consents.find(
        {"state": "granted", "valid_until": {"$lte": stamp(now)}}, {"_id": 1}).to_list()
    return [str(d["_id"]) for d in docs]


async def accesses_of(db: AsyncDatabase[Any], citizen_id: str, *, limit: int,
                      offset: int) -> list[dict[str, Any]]:
    """The citizen's access history, most recent first."""
    docs: list[dict[str, Any]] = await db.accesses.find({"citizen_id": citizen_id}).sort(
        "accessed_at", -1).skip(offset).limit(limit).to_list()
    return docs


async def alerts_of(db: AsyncDatabase[Any], citizen_id: str, *, unread_only: bool, limit: int,
                    offset: int) -> list[dict[str, Any]]:
    """The citizen's alert inbox, most recent access first."""
    query: dict[str, Any] = {"citizen_id": citizen_id}
    if unread_only:
        query["read"] = False
    docs: list[dict[str, Any]] = await db.alerts.find(query).sort(
        "accessed_at", -1).skip(offset).limit(limit).to_list()
    return docs


async def access_alerts_enabled(db: AsyncDatabase[Any], citizen_id: str) -> bool:
    doc = await db.alert_preferences.find_one({"_id": citizen_id})
    return bool(doc and doc["access_alerts"])
