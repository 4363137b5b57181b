"""An access alert: the citizen is told that a professional accessed their record."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import Action, Decision
from rse_shared.eventstore import natural_id


def alert_due(opted_in: bool, decision: Decision) -> bool:
    """Emergency access is always told; any other access only to a citizen who opted in."""
    return decision == "emergency" or opted_in


class AccessAlert(Aggregate):
    """One alert in a citizen's inbox, at most one per access."""

    class Raised(Aggregate.Created):
        """An access the citizen is to be told of."""

        citizen_id: uuid.UUID
        access_id: uuid.UUID
        practitioner_id: str
        health_unit: str | None
        categories: tuple[Category, ...]
        decision: Decision
        accessed_at: datetime
        causation_id: uuid.UUID | None
        correlation_id: uuid.UUID | None
        action: Action = "read"

    class Read(Aggregate.Event):
        """The citizen read the alert."""

        citizen_id: uuid.UUID
        read_at: datetime

    @staticmethod
    def create_id(access_id: uuid.UUID) -> uuid.UUID:
        return natural_id("access-alert", str(access_id))

    @event(Raised)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        access_id: uuid.UUID,
        practitioner_id: str,
        health_unit: str | None,
        categories: tuple[Category, ...],
        decision: Decision,
        accessed_at: datetime,
        causation_id: uuid.UUID | None,
        correlation_id: uuid.UUID | None,
        action: Action = "read",
    ) -> None:
        self.citizen_id = citizen_id
        self.read_at: datetime | None = None

    def mark_read(self, now: datetime) -> None:
        """Idempotent: an alert already read stays read as of the first time."""
        if self.read_at is None:
            self._read(citizen_id=self.citizen_id, read_at=now)

    @event(Read)
    def _read(self, citizen_id: uuid.UUID, read_at: datetime) -> None:
        self.read_at = read_at
