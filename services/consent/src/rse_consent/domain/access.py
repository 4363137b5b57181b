"""An access: one read, write or listing (or its refusal) of a citizen's record, as reported."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import Action, ActorRole, Decision, Relationship, ReviewOutcome
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
        # Accesses recorded before writes and lists were reported are professionals' reads.
        action: Action = "read"
        role: ActorRole = "professional"
        actor_id: str | None = None
        entries: tuple[dict[str, str], ...] = ()
        relationship: Relationship | None = None

    class Reviewed(Aggregate.Event):
        """An auditor judged this emergency access."""

        citizen_id: uuid.UUID
        access_id: uuid.UUID
        outcome: ReviewOutcome
        note: str
        reviewed_by: str
        reviewed_at: datetime

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
        action: Action = "read",
        role: ActorRole = "professional",
        actor_id: str | None = None,
        entries: tuple[dict[str, str], ...] = (),
        relationship: Relationship | None = None,
    ) -> None:
        self.citizen_id = citizen_id
        self.access_id = access_id
        self.decision = decision
        self.reviewed = False

    def review(self, outcome: ReviewOutcome, note: str, by: str, at: datetime) -> None:
        """Record the review once; a redelivered one changes nothing."""
        if not self.reviewed:
            self._reviewed(
                citizen_id=self.citizen_id,
                access_id=self.access_id,
                outcome=outcome,
                note=note,
                reviewed_by=by,
                reviewed_at=at,
            )

    @event(Reviewed)
    def _reviewed(
        self,
        citizen_id: uuid.UUID,
        access_id: uuid.UUID,
        outcome: ReviewOutcome,
        note: str,
        reviewed_by: str,
        reviewed_at: datetime,
    ) -> None:
        self.reviewed = True
