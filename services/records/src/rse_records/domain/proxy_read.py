"""A proxy's read: someone acting for the citizen looked at part of their record."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event


class ProxyRead(Aggregate):
    """One read of a citizen's record by their proxy, saved before the answer (no content)."""

    class Recorded(Aggregate.Created):
        citizen_id: uuid.UUID
        part: str  # record, health_summary, vaccinations, care_plan, prescriptions, accesses
        read_at: datetime

    @event(Recorded)
    def __init__(self, citizen_id: uuid.UUID, part: str, read_at: datetime) -> None:
        self.citizen_id = citizen_id
        self.part = part
