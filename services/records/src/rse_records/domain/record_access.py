"""One access to a citizen's record (or its refusal): who, what, why, decision.

A professional's read, write or patient list, or a hospital's write: each is one access.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import Action, ActorRole, Decision, Relationship

# An entry viewed or written: {"id": ..., "kind": ...}, never its value.
EntryRefs = list[dict[str, str]]


class RecordAccess(Aggregate):
    """An access of its own (random id), so concurrent reads never conflict with each other."""

    class Recorded(Aggregate.Created):
        citizen_id: uuid.UUID
        practitioner_id: str
        health_unit: str | None
        categories: list[Category]
        purpose: str | None
        emergency_reason: str | None
        decision: Decision
        consent_id: uuid.UUID | None
        accessed_at: datetime
        # Accesses stored before writes were recorded are a professional's reads.
        action: Action = "read"
        role: ActorRole = "professional"
        actor_id: str | None = None
        entries: EntryRefs | None = None
        relationship: Relationship | None = None

    @event(Recorded)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        practitioner_id: str,
        health_unit: str | None,
        categories: list[Category],
        purpose: str | None,
        emergency_reason: str | None,
        decision: Decision,
        consent_id: uuid.UUID | None,
        accessed_at: datetime,
        action: Action = "read",
        role: ActorRole = "professional",
        actor_id: str | None = None,
        entries: EntryRefs | None = None,
        relationship: Relationship | None = None,
    ) -> None:
        self.citizen_id = citizen_id
        self.practitioner_id = practitioner_id
        self.decision = decision
        self.consent_id = consent_id
        self.action = action
