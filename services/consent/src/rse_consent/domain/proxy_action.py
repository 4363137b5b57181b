"""A proxy's action: what someone acting for the citizen did, for the citizen's history."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id


class ProxyAction(Aggregate):
    """One action a proxy took for a citizen in another service (ids and kinds, no content)."""

    class Recorded(Aggregate.Created):
        """Reported by its service: who, for whom, under which relationship, what, when."""

        event_id: uuid.UUID
        citizen_id: uuid.UUID
        actor_id: str
        relationship_id: uuid.UUID
        kind: str
        did: str  # the integration event's type, e.g. AppointmentBooked
        entries: list[dict[str, str]]
        at: datetime

    @staticmethod
    def create_id(event_id: uuid.UUID) -> uuid.UUID:
        return natural_id("proxy-action", str(event_id))

    @event(Recorded)
    def __init__(
        self,
        event_id: uuid.UUID,
        citizen_id: uuid.UUID,
        actor_id: str,
        relationship_id: uuid.UUID,
        kind: str,
        did: str,
        entries: list[dict[str, str]],
        at: datetime,
    ) -> None:
        self.citizen_id = citizen_id
        self.actor_id = actor_id
