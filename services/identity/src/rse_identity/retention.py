"""Retention: what identity keeps no longer than its settings say, erased like any erasure.

A citizen deregistered (death, emigration) is erased `retention_deregistered_days` after
the effective date; a registration never activated, `retention_unactivated_days` after it
was made. The sweep finds candidates in the directory (which may lag); the application
checks each on its aggregate before erasing (`legal_basis: "retention"`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

RETENTION_REFERENCE = "retention settings of the identity service"
SYSTEM = "retention"


@dataclass(frozen=True)
class RetentionPolicy:
    deregistered: timedelta = timedelta(days=3650)
    unactivated: timedelta = timedelta(days=90)

    def deregistered_before(self, today: date) -> date:
        return today - self.deregistered

    def registered_before(self, now: datetime) -> datetime:
        return now - self.unactivated


async def due_for_retention(
    db: AsyncDatabase[Any], policy: RetentionPolicy, now: datetime
) -> list[uuid.UUID]:
    """Citizens whose retention may have ended: deregistered long enough ago, or registered
    long enough ago (whether they were ever activated is checked on the aggregate)."""
    cutoff = policy.deregistered_before(now.date()).isoformat()
    gone = db.citizens.find(
        {"status": "deregistered", "deregistration.effective_date": {"$lt": cutoff}}, {"_id": 1}
    )
    old = db.citizens.find(
        {"status": "registered", "registered_at": {"$lt": policy.registered_before(now)}},
        {"_id": 1},
    )
    return [uuid.UUID(str(d["_id"])) async for d in gone] + [
        uuid.UUID(str(d["_id"])) async for d in old
    ]
