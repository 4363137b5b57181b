"""The auditors' queue of emergency accesses, and their alerts of quotas exceeded."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from rse_records.domain.emergency import EmergencyReview, QuotaRefusal
from rse_records.domain.record_access import RecordAccess
from rse_records.read_models import EmergencyDocument, QuotaAlertDocument
from rse_shared.metrics import EMERGENCIES_OLDEST_UNREVIEWED, EMERGENCIES_UNREVIEWED
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import stored
from rse_shared.status import EMERGENCIES

Status = Literal["unreviewed", "reviewed", "all"]


class EmergencyQueue:
    """Every emergency access, unreviewed until an auditor judges it; quota refusals."""

    name = "emergency_queue"
    collections: tuple[str, ...] = (EMERGENCIES, "quota_alerts")
    handles = (RecordAccess.Recorded, EmergencyReview.Reviewed, QuotaRefusal.Exceeded)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db[EMERGENCIES].create_index("status")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that change no queue."""

    @apply.register(RecordAccess.Recorded)
    async def when_emergency_access_recorded_queue_it(
        self, event: RecordAccess.Recorded, position: int, db: AsyncDatabase[Any]
    ) -> None:
        if event.decision != "emergency":
            return
        fields = {
            "citizen_id": str(event.citizen_id),
            "practitioner_id": event.practitioner_id,
            "health_unit": event.health_unit,
            "action": event.action,
            "categories": list(event.categories),
            "emergency_reason": event.emergency_reason,
            "accessed_at": event.accessed_at,
            # Its review comes later in the same log, so it never finds one to undo.
            "status": "unreviewed",
        }
        await guarded_upsert(
            db[EMERGENCIES], {"_id": str(event.originator_id)}, position, {"$set": stored(fields)}
        )

    @apply.register(EmergencyReview.Reviewed)
    async def when_emergency_reviewed_take_it_off_the_queue(
        self, event: EmergencyReview.Reviewed, position: int, db: AsyncDatabase[Any]
    ) -> None:
        review = {
            "outcome": event.outcome,
            "note": event.note,
            "by": event.reviewed_by,
            "at": event.reviewed_at,
        }
        await guarded_upsert(
            db[EMERGENCIES],
            {"_id": str(event.access_id)},
            position,
            {"$set": stored({"status": "reviewed", "review": review})},
        )

    @apply.register(QuotaRefusal.Exceeded)
    async def when_quota_exceeded_alert_auditors(
        self, event: QuotaRefusal.Exceeded, position: int, db: AsyncDatabase[Any]
    ) -> None:
        fields = {
            "citizen_id": str(event.citizen_id),
            "practitioner_id": event.practitioner_id,
            "day": event.day,
            "quota": event.quota,
            "attempted_at": event.attempted_at,
        }
        await guarded_upsert(
            db.quota_alerts, {"_id": str(event.originator_id)}, position, {"$set": stored(fields)}
        )


async def emergencies(
    db: AsyncDatabase[Any], status: Status, limit: int
) -> list[EmergencyDocument]:
    """Emergency accesses by status, oldest first (the queue's order of work)."""
    query = {} if status == "all" else {"status": status}
    found = await db[EMERGENCIES].find(query).sort("accessed_at", 1).limit(limit).to_list()
    return EmergencyDocument.all(found)


async def quota_alerts(db: AsyncDatabase[Any], limit: int) -> list[QuotaAlertDocument]:
    """Refused emergency accesses beyond a quota, newest first."""
    found = await db.quota_alerts.find().sort("attempted_at", -1).limit(limit).to_list()
    return QuotaAlertDocument.all(found)


async def unreviewed_backlog(db: AsyncDatabase[Any]) -> tuple[int, datetime | None]:
    """How many emergency accesses await review, and when the oldest happened."""
    unreviewed = {"status": "unreviewed"}
    count = await db[EMERGENCIES].count_documents(unreviewed)
    oldest = await db[EMERGENCIES].find(unreviewed).sort("accessed_at", 1).limit(1).to_list()
    return count, (oldest[0]["accessed_at"] if oldest else None)


async def refresh_emergency_metrics(db: AsyncDatabase[Any]) -> None:
    """Set the gauges of the review backlog from the queue."""
    count, oldest = await unreviewed_backlog(db)
    EMERGENCIES_UNREVIEWED.set(count)
    EMERGENCIES_OLDEST_UNREVIEWED.set(oldest.timestamp() if oldest else 0)
