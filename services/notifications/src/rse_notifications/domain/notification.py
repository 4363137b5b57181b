"""One notification to a citizen, from one event: its message and each channel's outcome."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id


class Notification(Aggregate):
    """At most one per (source event, kind): a redelivered event finds it already there."""

    class Requested(Aggregate.Created):
        """What to send, to whom, on which channels, from when."""

        citizen_id: uuid.UUID
        kind: str
        source_event_id: uuid.UUID
        subject: str
        text: str
        deliveries: list[dict[str, str | None]]
        due_at: datetime

    class Delivered(Aggregate.Event):
        citizen_id: uuid.UUID
        kind: str
        channel: str
        attempts: int
        at: datetime

    class Failed(Aggregate.Event):
        """Given up on one channel: undeliverable, or outcome unknown (never sent twice)."""

        citizen_id: uuid.UUID
        kind: str
        channel: str
        reason: str
        attempts: int
        at: datetime

    class Withdrawn(Aggregate.Event):
        """No longer to be sent (e.g. the appointment a reminder was for was cancelled)."""

        citizen_id: uuid.UUID
        reason: str

    @staticmethod
    def create_id(source_event_id: uuid.UUID, kind: str) -> uuid.UUID:
        return natural_id("notification", f"{source_event_id}:{kind}")

    @event(Requested)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        kind: str,
        source_event_id: uuid.UUID,
        subject: str,
        text: str,
        deliveries: list[dict[str, str | None]],
        due_at: datetime,
    ) -> None:
        self.citizen_id = citizen_id
        self.kind = kind
        self.subject = subject
        self.text = text
        self.channels = [str(d["channel"]) for d in deliveries]
        self.outcomes: dict[str, str] = {}
        self.withdrawn = False

    def record_delivered(self, channel: str, attempts: int, at: datetime) -> None:
        """Idempotent: a channel's first outcome stands."""
        if channel in self.channels and channel not in self.outcomes:
            self._delivered(
                citizen_id=self.citizen_id,
                kind=self.kind,
                channel=channel,
                attempts=attempts,
                at=at,
            )

    @event(Delivered)
    def _delivered(
        self, citizen_id: uuid.UUID, kind: str, channel: str, attempts: int, at: datetime
    ) -> None:
        self.outcomes[channel] = "sent"

    def record_failed(self, channel: str, reason: str, attempts: int, at: datetime) -> None:
        if channel in self.channels and channel not in self.outcomes:
            self._failed(
                citizen_id=self.citizen_id,
                kind=self.kind,
                channel=channel,
                reason=reason,
                attempts=attempts,
                at=at,
            )

    @event(Failed)
    def _failed(
        self,
        citizen_id: uuid.UUID,
        kind: str,
        channel: str,
        reason: str,
        attempts: int,
        at: datetime,
    ) -> None:
        self.outcomes[channel] = "failed"

    def withdraw(self, reason: str) -> None:
        if not self.withdrawn and len(self.outcomes) < len(self.channels):
            self._withdrawn(citizen_id=self.citizen_id, reason=reason)

    @event(Withdrawn)
    def _withdrawn(self, citizen_id: uuid.UUID, reason: str) -> None:
        self.withdrawn = True
