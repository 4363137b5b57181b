"""An access: one professional's read (or refused read) of a citizen's record, as reported."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import Decision
from rse_shared.eventstore import natural_id


class Access(Aggregate):
    """The metadata of one access (never the content read), one per records' access id."""

    class Recorded(Aggregate.Created):
        """Records reported this access (read, refused or in an emergency)."""

        access_id: uuid.UUID
        citizen_id: uuid.UUID
        practitioner_id: str
        health_unit: str | None
        categories: tuple[Category, ...]
        purpose: str | None
        emergency_reason: str | None
        decision: Decision
        consent_id: uuid.UUID | None
        accessed_at: datetime

    @staticmethod
    def create_id(access_id: uuid.UUID) -> uuid.UUID:
        return natural_id("access", str(access_id))

    @event(Recorded)
    def __init__(
        self,
        access_id: uuid.UUID,
        citizen_id: uuid.UUID,
        practitioner_id: str,
        health_unit: str | None,
        categories: tuple[Category, ...],
        purpose: str | None,
        emergency_reason: str | None,
        decision: Decision,
        consent_id: uuid.UUID | None,
        accessed_at: datetime,
    ) -> None:
        self.citizen_id = citizen_id
        self.decision = decision
