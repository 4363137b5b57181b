"""The consuming side of a service: a ProcessApplication that applies each event once.

Kafka offsets alone do not make a consumer idempotent: a relay that crashed after the
broker's ack and before recording its position publishes the same event again, at a new
offset. So besides the offset's Tracking record, each (producer, citizen) pair has an
inbox holding the last source position applied; per-citizen order is kept by the topic
key, so an event at or below that position is a re-publication and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.persistence import Tracking
from eventsourcing.system import ProcessApplication

from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.eventstore import ServiceApplication, natural_id


class Inbox(Aggregate):
    """The last source position applied from one producer for one citizen."""

    @staticmethod
    def create_id(producer: str, citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("inbox", f"{producer}:{citizen_id}")

    @event("Opened")
    def __init__(self, producer: str, citizen_id: uuid.UUID) -> None:
        self.position = 0

    @event("Advanced")
    def advance(self, position: int) -> None:
        self.position = position


class ConsumerApplication(ProcessApplication[uuid.UUID], ServiceApplication):
    """Base of a service's consuming application: subclasses implement `handle`."""

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        if not isinstance(domain_event, IntegrationEvent):
            return
        inbox = self._inbox(domain_event)
        if inbox.position >= domain_event.source_position:
            return  # already applied: a re-published copy
        self.handle(domain_event, processing_event)
        inbox.advance(domain_event.source_position)
        processing_event.collect_events(inbox)

    def receive(self, event: IntegrationEvent, tracking: Tracking) -> None:
        """Apply one integration event; its new events and `tracking` are saved together."""
        # eventsourcing types what it processes as its own domain events; an integration
        # event carries what `policy` reads, so it is handed over as one.
        self.process_event(cast(DomainEventProtocol[uuid.UUID], event), tracking)

    def handle(self, event: IntegrationEvent, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Turn one integration event into new domain events (collected on the processing event)."""

    def _inbox(self, event: IntegrationEvent) -> Inbox:
        try:
            inbox: Inbox = self.repository.get(Inbox.create_id(event.producer, event.citizen_id))
        except AggregateNotFoundError:
            inbox = Inbox(event.producer, event.citizen_id)
        return inbox
