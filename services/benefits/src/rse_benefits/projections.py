"""Benefits' read models in MongoDB: every exemption request and its outcome."""

from __future__ import annotations

from datetime import date
from functools import singledispatchmethod
from typing import Any, Literal

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from rse_benefits.domain.exemption import Exemption, Status
from rse_shared.contracts import ExemptionCategory
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import Day, Document, Instant, stored


class DecisionEntry(BaseModel):
    """How a request was decided, by whom (a rule or an officer) and when."""

    decision: Literal["granted", "denied"]
    basis: Literal["rule", "officer"]
    reason: str
    decided_at: Instant


class ExemptionDocument(Document):
    """One exemption request: category, status, decision, validity."""

    citizen_id: str
    category: ExemptionCategory
    status: Status
    requested_on: Day
    evidence: list[dict[str, Any]] = []
    renews: str | None = None
    decision: DecisionEntry | None = None
    valid_from: Day | None = None
    valid_until: Day | None = None
    expired_on: Day | None = None
    cancel_reason: str | None = None

    def is_active_on(self, day: date) -> bool:
        """Granted, and `day` within its validity (an open end is no limit)."""
        return self.status == "granted" and (self.valid_from or day) <= day <= (
            self.valid_until or day
        )


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
    async def when_exemption_requested_add_it(
        self,
        event: Exemption.Requested,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            event,
            position,
            {
                "citizen_id": str(event.citizen_id),
                "category": event.category,
                "status": "pending",
                "requested_on": event.requested_on,
                "evidence": event.evidence,
                "renews": str(event.renews) if event.renews else None,
                "decision": None,
                "valid_from": None,
                "valid_until": None,
            },
        )

    @apply.register(Exemption.Decided)
    async def when_exemption_decided_record_the_decision(
        self,
        event: Exemption.Decided,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        decision = DecisionEntry(
            decision=event.decision,
            basis=event.basis,
            reason=event.reason,
            decided_at=event.timestamp,
        )
        await _set(
            db,
            event,
            position,
            {
                "status": event.decision,
                "valid_from": event.valid_from,
                "valid_until": event.valid_until,
                "decision": decision.model_dump(),
            },
        )

    @apply.register(Exemption.Expired)
    async def when_exemption_expired_mark_it_expired(
        self,
        event: Exemption.Expired,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(db, event, position, {"status": "expired", "expired_on": event.expired_on})

    @apply.register(Exemption.Cancelled)
    async def when_exemption_cancelled_mark_it_cancelled(
        self,
        event: Exemption.Cancelled,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(db, event, position, {"status": "cancelled", "cancel_reason": event.reason})


async def _set(db: AsyncDatabase[Any], event: Any, position: int, fields: dict[str, Any]) -> None:
    await guarded_upsert(
        db.exemptions, {"_id": str(event.originator_id)}, position, {"$set": stored(fields)}
    )


async def exemptions_of(db: AsyncDatabase[Any], citizen_id: str) -> list[ExemptionDocument]:
    """A citizen's exemption requests, newest first."""
    return ExemptionDocument.all(
        await db.exemptions.find({"citizen_id": citizen_id}).sort("requested_on", -1).to_list()
    )


async def pending_exemptions(db: AsyncDatabase[Any]) -> list[ExemptionDocument]:
    """The requests waiting for an officer, oldest first."""
    return ExemptionDocument.all(
        await db.exemptions.find({"status": "pending"}).sort("requested_on", 1).to_list()
    )


async def due_to_expire(db: AsyncDatabase[Any], today: date) -> list[str]:
    """Granted exemptions whose last valid day is before `today` (ISO dates sort as text)."""
    docs = await db.exemptions.find(
        {"status": "granted", "valid_until": {"$lt": stored(today)}}, {"_id": 1}
    ).to_list()
    return [str(d["_id"]) for d in docs]
