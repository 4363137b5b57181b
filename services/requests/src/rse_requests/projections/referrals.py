"""The referrals read model: SIGA referrals, their deadlines, TMRG breaches and history.

The history is what the citizen and the referring professional see of each change: the
status, when, and who made it (the hospital's staff, or the platform itself).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import singledispatchmethod
from typing import Any

from rse_requests.documents import ReferralDocument
from rse_requests.domain.referral import Referral
from rse_requests.projections.store import Db, by_originator, fetch_all, set_stored
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import stored


class Referrals:
    """One document per SIGA referral: status, deadline, TMRG breach flag."""

    name = "referrals"
    collections: tuple[str, ...] = ("referrals",)

    async def ensure_indexes(self, db: Db) -> None:
        await db.referrals.create_index("citizen_id")
        await db.referrals.create_index("practitioner_id")
        await db.referrals.create_index([("status", 1), ("deadline", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: Db) -> None:
        """Other events do not change referrals."""

    @apply.register(Referral.Registered)
    async def when_referral_registered_add_it_with_its_deadline(
        self, event: Referral.Registered, position: int, db: Db
    ) -> None:
        await guarded_upsert(
            db.referrals,
            by_originator(event),
            position,
            set_stored(
                {
                    "citizen_id": str(event.citizen_id),
                    "specialty": event.specialty,
                    "hospital": event.hospital,
                    "priority": event.priority,
                    "registered_on": event.registered_on,
                    "deadline": event.deadline,
                    "practitioner_id": event.practitioner_id,
                    "health_unit": event.health_unit,
                    "status": "registered",
                    "scheduled_for": None,
                    "reason": None,
                    "tmrg_breached": False,
                    "history": [
                        change(
                            "registered",
                            event.timestamp,
                            by=event.practitioner_id,
                            role="professional",
                        )
                    ],
                }
            ),
        )

    @apply.register(Referral.StatusChanged)
    async def when_referral_status_changed_record_it(
        self, event: Referral.StatusChanged, position: int, db: Db
    ) -> None:
        fields: dict[str, Any] = {
            "status": event.status,
            "scheduled_for": event.scheduled_for,
            "reason": event.reason,
        }
        if event.status == "tmrg_breached":
            fields["tmrg_breached"] = True  # stays flagged once the referral is scheduled
        step = change(
            event.status,
            event.timestamp,
            by=event.changed_by,
            role=event.changed_by_role,
            scheduled_for=event.scheduled_for,
            reason=event.reason,
        )
        # The position guard keeps a re-applied event from pushing its step twice.
        update = {**set_stored(fields), "$push": {"history": step}}
        await guarded_upsert(db.referrals, by_originator(event), position, update)


def change(
    status: str,
    at: datetime,
    *,
    by: str | None,
    role: str | None,
    scheduled_for: date | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """One step of the referral's history, as stored."""
    step = {
        "status": status,
        "at": at,
        "scheduled_for": scheduled_for,
        "reason": reason,
        "changed_by": by,
        "changed_by_role": role,
    }
    stored_step: dict[str, Any] = stored(step)
    return stored_step


async def referrals_of(db: Db, citizen_id: str) -> list[ReferralDocument]:
    return ReferralDocument.all(
        await fetch_all(db.referrals.find({"citizen_id": citizen_id}).sort("deadline", 1))
    )


async def referrals_by(db: Db, practitioner_id: str) -> list[ReferralDocument]:
    return ReferralDocument.all(
        await fetch_all(db.referrals.find({"practitioner_id": practitioner_id}).sort("deadline", 1))
    )


async def breach_due(db: Db, today: date) -> list[str]:
    """Unscheduled referrals whose deadline day has passed (ISO days sort as text)."""
    docs = await fetch_all(
        db.referrals.find({"status": "registered", "deadline": {"$lt": stored(today)}}, {"_id": 1})
    )
    return [str(d["_id"]) for d in docs]
