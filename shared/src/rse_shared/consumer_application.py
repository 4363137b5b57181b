"""The consuming side of a service: a ProcessApplication that applies each event once.

Kafka offsets alone do not make a consumer idempotent: a relay that crashed after the
broker's ack and before recording its position publishes the same event again, at a new
offset. So besides the offset's Tracking record, each (producer, citizen) pair has an
inbox row holding the last source position applied; per-citizen order is kept by the
topic key, so an event at or below that position is a re-publication and changes nothing.

`apply` takes many events at once: their new events, the tracking records, the inbox
rows and the chain heads are stored in one transaction (rse_shared.consumer_store), and
an aggregate touched by two of them is read once and kept for the rest of the batch.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent, Repository
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.popo import POPOFactory
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic, strtobool

from rse_shared.consumer_store import (
    ConsumerRecorder,
    ConsumerState,
    InboxKey,
    POPOConsumerRecorder,
    PostgresConsumerRecorder,
)
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.contracts.identity import CitizenErased, ProxyEnded, ProxyRevoked
from rse_shared.contracts.sealed import SealedEvent
from rse_shared.erasure import CitizenErasure
from rse_shared.eventstore import TRACE_ATTRIBUTE, Batch, ServiceApplication
from rse_shared.proxy import EndedRelationship
from rse_shared.revocation import Revocations

Aggregates = dict[uuid.UUID, MutableOrImmutableAggregate[uuid.UUID]]


def inbox_key(event: IntegrationEvent) -> InboxKey:
    """The inbox row an event's position is kept in: its producer's, per citizen.

    A producer's channel (rse_shared.topics.CHANNELS) is a second topic fed from the same
    notification log: its positions interleave with the events topic's, and the two topics
    are not ordered with each other, so each keeps its own row.
    """
    if isinstance(event, SealedEvent):
        return (f"{event.producer}/{event.event_type}", event.citizen_id)
    return (event.producer, event.citizen_id)


class UncollectedChanges(RuntimeError):
    """A handler changed an aggregate it did not collect: the batch cannot keep it."""


class BatchRepository(Repository[uuid.UUID]):
    """A repository that, inside `keeping`, hands out the batch's own copy of an aggregate.

    The copy is per thread: the API's threads keep reading what is committed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch = threading.local()

    @contextlib.contextmanager
    def keeping(self, aggregates: Aggregates) -> Iterator[None]:
        self._batch.aggregates = aggregates
        try:
            yield
        finally:
            self._batch.aggregates = None

    def get(self, aggregate_id: uuid.UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        kept: Aggregates | None = getattr(self._batch, "aggregates", None)
        if version is None and kept is not None and aggregate_id in kept:
            return kept[aggregate_id]
        return super().get(aggregate_id, version=version, **kwargs)


class ConsumerApplication(ProcessApplication[uuid.UUID], ServiceApplication):
    """Base of a service's consuming application: subclasses implement `handle`."""

    env: ClassVar[dict[str, str]] = {"PROCESS_RECORDER_TOPIC": get_topic(PostgresConsumerRecorder)}
    recorder: ConsumerRecorder
    # Where identity's revocations go (set by the service's assembly); None: nowhere.
    revocations: Revocations | None = None

    def construct_recorder(self) -> ProcessRecorder:
        if isinstance(self.factory, POPOFactory):
            return POPOConsumerRecorder()
        return super().construct_recorder()

    def construct_repository(self) -> BatchRepository:
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return BatchRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """One event on its own (eventsourcing's `process_event`), deduplicated by the inbox."""
        if not isinstance(domain_event, IntegrationEvent):
            return
        state = ConsumerState()
        positions = self._inbox_positions([domain_event])
        self._apply_new(domain_event, processing_event, state, positions)
        processing_event.collect_events(consumer_state=state)

    def apply(
        self,
        events: Sequence[IntegrationEvent],
        state: ConsumerState,
        traceparents: Sequence[str | None] = (),
    ) -> None:
        """Apply `events` in order and store their effects with `state`, in one transaction.

        `traceparents[i]`, if given, is the trace the effects of `events[i]` continue.
        """
        traces = list(traceparents) or [None] * len(events)
        # The caller may retry with the same state: what one attempt applied stays out of it.
        state = replace(state, inbox=dict(state.inbox))
        with self.processing_lock:
            batch = Batch()
            positions = self._inbox_positions(events)
            assert isinstance(self.repository, BatchRepository)
            with self.repository.keeping(batch.aggregates):
                for event, traceparent in zip(events, traces, strict=True):
                    first = len(batch.events)
                    self._apply_new(event, batch, state, positions)
                    for new in batch.events[first:] if traceparent else ():
                        object.__setattr__(new, TRACE_ATTRIBUTE, traceparent)
            # Once per batch: a change left uncollected fails the batch, and each of its
            # messages is then applied (and checked) on its own.
            self._check_all_collected(batch.aggregates)
            batch.collect_events(consumer_state=state)
            recordings = self._record(batch)
            self._take_snapshots(batch)
            self._notify(recordings)

    def _apply_new(
        self,
        event: IntegrationEvent,
        processing_event: ProcessingEvent[uuid.UUID],
        state: ConsumerState,
        positions: dict[InboxKey, int],
    ) -> None:
        key = inbox_key(event)
        if positions.get(key, 0) >= event.source_position:
            return  # already applied: a re-published copy
        if self.revocations is not None:
            # Stored before the batch commits: if this fails, the event is retried.
            self.revocations.take(event)
        self._note_ended_relationship(event, processing_event)
        if isinstance(event, CitizenErased):
            self._note_erasure(event, processing_event)
        self.handle(event, processing_event)
        positions[key] = state.inbox[key] = event.source_position

    def _note_ended_relationship(
        self, event: IntegrationEvent, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """Every service keeps the proxy relationships identity ended, for the proxy guard."""
        if not isinstance(event, ProxyRevoked | ProxyEnded) or self.relationship_ended(
            event.relationship_id
        ):
            return
        at = event.revoked_at if isinstance(event, ProxyRevoked) else event.ended_at
        reason = "revoked" if isinstance(event, ProxyRevoked) else event.reason
        processing_event.collect_events(
            EndedRelationship(event.relationship_id, event.citizen_id, reason, at)
        )

    def _note_erasure(
        self, event: CitizenErased, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """Every service forgets an erased citizen: the key out of memory at once, and an
        erasure of its own that its read models delete the citizen's documents on."""
        if self.keyring is not None:
            self.keyring.forget(event.citizen_id)
        try:
            self.repository.get(CitizenErasure.create_id(event.citizen_id))
        except AggregateNotFoundError:
            processing_event.collect_events(
                CitizenErasure(event.citizen_id, event.legal_basis, event.erased_at)
            )

    def relationship_ended(self, relationship_id: uuid.UUID) -> bool:
        """Whether identity told this service that the proxy relationship ended."""
        try:
            self.repository.get(EndedRelationship.create_id(relationship_id))
        except AggregateNotFoundError:
            return False
        return True

    def _inbox_positions(self, events: Sequence[IntegrationEvent]) -> dict[InboxKey, int]:
        return self.recorder.inbox_positions(inbox_key(e) for e in events)

    @staticmethod
    def _check_all_collected(aggregates: Aggregates) -> None:
        for aggregate in aggregates.values():
            if getattr(aggregate, "pending_events", None):
                raise UncollectedChanges(f"{type(aggregate).__name__} has uncollected events")

    def receive(self, event: IntegrationEvent, tracking: Tracking) -> None:
        """Apply one integration event; its new events and `tracking` are saved together."""
        self.apply([event], ConsumerState(trackings=[tracking]))

    def handle(self, event: IntegrationEvent, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Turn one integration event into new domain events (collected on the processing event)."""

    def has_tracking(self, tracking: Tracking) -> bool:
        return self.recorder.has_tracking_id(tracking.application_name, tracking.notification_id)
