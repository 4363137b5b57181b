"""Benefits' read models in MongoDB: every exemption request and its outcome."""

from __future__ import annotations

from datetime import date
from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_benefits.domain.exemption import Exemption
from rse_shared.projection import guarded_upsert


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


class ExemptionBook:
    """One document per exemption request: category, status, decision, validity."""

    name = "exemption_book"
    collections: tuple[str, ...] = ("exemptions",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.exemptions.create_index("citizen_id")
        await db.exemptions.create_index("status")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Beneficiary events do not change the book."""

    @apply.register(Exemption.Requested)
    async def _(self, event: Exemption.Requested, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.exemptions, {"_id": str(event.originator_id)}, position, {"$set": {
            "citizen_id": str(event.citizen_id), "category": event.category,
            "status": "pending", "requested_on": event.requested_on.isoformat(),
            "evidence": event.evidence, "renews": str(event.renews) if event.renews else None,
            "decision": None, "valid_from": None, "valid_until": None,
        }})

    @apply.register(Exemption.Decided)
    async def _(self, event: Exemption.Decided, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.exemptions, {"_id": str(event.originator_id)}, position, {"$set": {
            "status": event.decision, "valid_from": _iso(event.valid_from),
            "valid_until": _iso(event.valid_until),
            "decision": {"decision": event.decision, "basis": event.basis,
                         "reason": event.reason, "decided_at": event.timestamp.isoformat()},
        }})

    @apply.register(Exemption.Expired)
    async def _(self, event: Exemption.Expired, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.exemptions, {"_id": str(event.originator_id)}, position,
                             {"$set": {"status": "expired",
                                       "expired_on": event.expired_on.isoformat()}})

    @apply.register(Exemption.Cancelled)
    async def _(self, event: Exemption.Cancelled, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.exemptions, {"_id": str(event.originator_id)}, position,
                             {"$set": {"status": "cancelled", "cancel_reason": event.reason}})


async def exemptions_of(db: AsyncDatabase[Any], citizen_id: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db.exemptions.find(
        {"citizen_id": citizen_id}).sort("requested_on", -1).to_list()
    return docs


async def pending_exemptions(db: AsyncDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db.exemptions.find(
        {"status": "pending"}).sort("requested_on", 1).to_list()
    return docs


async def due_to_expire(db: AsyncDatabase[Any], today: date) -> list[str]:
    """Granted exemptions whose last valid day is before `today` (ISO dates sort as text)."""
    docs = await db.exemptions.find(
        {"status": "granted", "valid_until": {"$lt": today.isoformat()}}, {"_id": 1}).to_list()
    return [str(d["_id"]) for d in docs]
