"""A citizen's choice to be told of every access to their record (emergencies always are)."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id


class AlertPreferences(Aggregate):
    """One per citizen; access alerts are off until the citizen opts in."""

    class Opened(Aggregate.Created):
        """The citizen's preferences exist, alerts off."""

        citizen_id: uuid.UUID

    class OptedIn(Aggregate.Event):
        """The citizen asked to be told of every access."""

        citizen_id: uuid.UUID
        at: datetime

    class OptedOut(Aggregate.Event):
        """The citizen asked to be told of emergency access only."""

        citizen_id: uuid.UUID
        at: datetime

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("alert-preferences", str(citizen_id))

    @event(Opened)
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id
        self.access_alerts = False

    def choose(self, enabled: bool, now: datetime) -> None:
        """Opt in or out; choosing what is already chosen records nothing."""
        if enabled and not self.access_alerts:
            self._opted_in(citizen_id=self.citizen_id, at=now)
        elif not enabled and self.access_alerts:
            self._opted_out(citizen_id=self.citizen_id, at=now)

    @event(OptedIn)
    def _opted_in(self, citizen_id: uuid.UUID, at: datetime) -> None:
        self.access_alerts = True

    @event(OptedOut)
    def _opted_out(self, citizen_id: uuid.UUID, at: datetime) -> None:
        self.access_alerts = False
