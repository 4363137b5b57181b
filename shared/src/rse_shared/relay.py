"""The outbox relay: follows an application's notification log and publishes to Kafka.

Events and their notifications are committed together by the event store, so the
notification log is the outbox. The relay publishes each notification (translated into
an integration event) with acks=all, keyed by citizen id, and records its position only
after the broker acknowledged: at-least-once, resuming where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from opentelemetry.trace import SpanKind

from rse_shared.chain import (
    Head,
    canonical,
    partition_for,
    public_key_document,
    signed_checkpoint,
)
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.eventstore import TRACE_ATTRIBUTE, keyring_of, readable
from rse_shared.keyring import CitizenErased
from rse_shared.locks import advisory_lock
from rse_shared.log_tail import LogTail
from rse_shared.metrics import EVENTS_RELAYED, RELAY_POSITION
from rse_shared.notify import Sleep, Wake
from rse_shared.protection import protect
from rse_shared.relay_position import PositionStore
from rse_shared.telemetry import context_from_traceparent, inject_trace_headers, tracer
from rse_shared.topics import CHECKPOINTS_TOPIC, KEYS_TOPIC, partitions_of

log = logging.getLogger(__name__)

Translator = Callable[[Any, int], IntegrationEvent | None]
"""Maps (domain event, notification id) to an integration event, or None if internal."""

PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 2,
    # A pipelined relay keeps many messages queued: large batches carry them in few requests.
    "max_batch_size": 256 * 1024,
    "request_timeout_ms": 15000,
}
"""The relay's producer settings (the benchmark's raw baseline uses the same)."""

WINDOWS = 3
"""Batches sent ahead of the oldest unacknowledged one."""


def encode_linked(document: dict[str, Any], prev: str) -> tuple[str, bytes]:
    """`document` chained to `prev`: its chain hash and its published bytes, in one pass.

    The bytes are the canonical JSON that is hashed with `chain_hash` appended, so a
    reader that parses them recomputes the same hash (`rse_shared.chain.chain_hash`).
    """
    body = canonical({**document, "chain_prev": prev}, omit="chain_hash")
    own = hashlib.sha256(body).hexdigest()
    return own, body[:-1] + b',"chain_hash":"' + own.encode() + b'"}'


@dataclass
class Published:
    """What one pass of the relay did."""

    notifications: int
    published: int
    position: int


class Chained(NamedTuple):
    """One integration event ready to send: where, its key, its bytes, its header fields."""

    partition: int
    key: bytes
    value: bytes
    event_type: str
    event_id: str


@dataclass
class Window:
    """One batch handed to the producer: where it ends, the chain heads after it, its acks."""

    notifications: int
    position: int
    heads: dict[int, Head]
    acks: list[asyncio.Future[Any]]


class OutboxRelay:
    """Publishes one application's notification log to its `<service>.events` topic.

    `position` and `heads` are what the broker acknowledged and the store saved; the
    relay reads and sends ahead of them (`sent_position`, `sent_heads`) by up to
    `windows` batches, so reading, sending and acknowledging overlap. Chain fields are
    computed in notification order; after a failure everything from the saved position
    is sent again, with the saved heads, so the copies are identical.
    """

    def __init__(
        self,
        app: Application[Any],
        translate: Translator,
        *,
        topic: str,
        bootstrap: str,
        conninfo: str,
        name: str | None = None,
        batch_size: int = 500,
        poll_interval: float = 0.1,
        producer: str | None = None,
        audit_key: Ed25519PrivateKey | None = None,
        checkpoint_interval: float = 30.0,
        wake: Wake | None = None,
        windows: int = WINDOWS,
        kafka: Mapping[str, Any] | None = None,
        log: LogTail | None = None,
    ) -> None:
        self.app = app
        self.log = log or LogTail(app.recorder)  # shared with the service's projectors
        # The client's security arguments (rse_shared.kafka.client_options).
        self.kafka: Mapping[str, Any] = kafka or {}
        self.translate = translate
        self.topic = topic
        self.bootstrap = bootstrap
        self.name = name or f"relay:{topic}"
        self.positions = PositionStore(conninfo, self.name)
        self.conninfo = conninfo
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.wake = wake or Sleep()
        self.windows = windows
        self.producer_name = producer or topic.split(".")[0]
        self.audit_key = audit_key or Ed25519PrivateKey.generate()
        self.checkpoint_interval = checkpoint_interval
        self._start_fresh()

    def _start_fresh(self) -> None:
        """What the relay learns as it runs: producer, positions, chain heads, checkpoints."""
        self.producer: AIOKafkaProducer | None = None
        self.position = 0
        self.heads: dict[int, Head] = {}
        self.sent_position = 0
        self.sent_heads: dict[int, Head] = {}
        self.failure: BaseException | None = None
        self.attempt = 0
        self.partitions = 1
        self.checkpointed: dict[int, int] = {}
        self.last_checkpoint = 0.0

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, **PRODUCER_SETTINGS, **self.kafka
        )
        await self.producer.start()
        await ensure_topics(self.bootstrap, [self.topic], options=self.kafka)
        self.partitions = len(await self.producer.partitions_for(self.topic))
        self.position, self.heads = await self.positions.load()
        self._rewind()
        await self._publish_verification_key()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
        await self.positions.close()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Follow the log for ever (until `stop`), as the single active relay."""
        stop = stop or asyncio.Event()
        async with advisory_lock(self.conninfo, self.name) as lease:
            await self.start()
            try:
                await lease.guard(self.follow(stop))
            finally:
                await self.stop()

    async def follow(self, stop: asyncio.Event) -> None:
        """Publish until `stop`, the next batch read and sent while earlier acks are due."""
        pending: deque[Window] = deque()
        while not stop.is_set():
            window = await self._send_next()
            if window.notifications:
                pending.append(window)
            caught_up = window.notifications < self.batch_size
            while pending and (caught_up or len(pending) > self.windows):
                await self._acknowledge(pending.popleft())
            await self.checkpoint_if_due()
            if caught_up:
                await self.wake.wait(stop, self.poll_interval)
        while pending:
            await self._acknowledge(pending.popleft())
        # A relay that stops vouches for what it published: an auditor finds no records
        # left unsigned by a clean shutdown (`rse-audit verify` fails stale chains).
        await self.checkpoint_if_due(force=True)

    async def publish_pending(self) -> Published:
        """Publish one batch of notifications after the recorded position, acks awaited."""
        self._rewind()
        window = await self._send_next()
        await self._acknowledge(window)
        return Published(window.notifications, len(window.acks), self.position)

    async def _send_next(self) -> Window:
        """Read the batch after what was sent and hand it to the producer, in order."""
        notifications = await self.log.after(self.sent_position, self.batch_size)
        try:
            acks = [ack for n in notifications if (ack := await self._send_one(n)) is not None]
        except BaseException:
            self._rewind()
            raise
        if notifications:
            self.sent_position = notifications[-1].id
        return Window(len(notifications), self.sent_position, dict(self.sent_heads), acks)

    async def _acknowledge(self, window: Window) -> None:
        """Wait for the window's acks, then save its position and heads together."""
        try:
            await asyncio.gather(*window.acks)
            await self.positions.save(window.position, window.heads)
        except BaseException:
            self._rewind()
            raise
        self.position, self.heads = window.position, window.heads
        EVENTS_RELAYED.labels(self.topic).inc(len(window.acks))
        RELAY_POSITION.labels(self.topic).set(self.position)

    def _rewind(self) -> None:
        """Send again from the saved position, with the saved chain heads."""
        self.sent_position, self.sent_heads = self.position, dict(self.heads)
        self.failure = None
        self.attempt += 1  # acks of earlier attempts no longer stop this one

    async def _send_one(self, notification: Notification) -> asyncio.Future[Any] | None:
        if self.failure is not None:
            raise self.failure  # nothing may be sent after a message that failed
        domain_event = readable(self.app.mapper, notification)
        event = None if domain_event is None else self.translate(domain_event, notification.id)
        if event is None:
            return None
        try:
            chained = self._chain(event)
        except CitizenErased:
            return None  # erased since it was stored: nothing of it is published
        return await self._send(chained, getattr(domain_event, TRACE_ATTRIBUTE, None))

    def _chain(self, event: IntegrationEvent) -> Chained:
        """The event linked into its partition's chain, serialised once."""
        key = str(event.citizen_id).encode()
        partition = partition_for(key, self.partitions)
        head = self.sent_heads.get(partition, Head())
        document = event.to_wire()
        keyring = keyring_of(self.app)
        if event.protected_fields and keyring is not None:
            document = protect(document, event.protected_fields, keyring)
        own, value = encode_linked(document, head.hash)
        self.sent_heads[partition] = Head(own, head.count + 1)
        return Chained(partition, key, value, document["event_type"], document["event_id"])

    async def _send(self, chained: Chained, traceparent: str | None) -> asyncio.Future[Any]:
        assert self.producer is not None, "relay not started"
        # The publish span continues the trace of the command that stored the event.
        with tracer().start_as_current_span(
            f"{self.topic} publish",
            context=context_from_traceparent(traceparent),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka"},
        ):
            headers = inject_trace_headers(
                [
                    ("event_type", chained.event_type.encode()),
                    ("event_id", chained.event_id.encode()),
                ]
            )
            ack: asyncio.Future[Any] = await self.producer.send(
                self.topic,
                value=chained.value,
                key=chained.key,
                partition=chained.partition,
                headers=headers,
            )
        ack.add_done_callback(partial(self._on_ack, self.attempt))
        return ack

    def _on_ack(self, attempt: int, ack: asyncio.Future[Any]) -> None:
        if attempt != self.attempt or self.failure is not None:
            return
        failure = None if ack.cancelled() else ack.exception()
        if failure is None:
            return
        self.failure = failure
        if self.producer is not None:
            discard_queued(self.producer, failure)

    async def checkpoint_if_due(self, force: bool = False) -> int:
        """Publish signed checkpoints of the chains that grew since the last ones.

        A partition's first records are signed at once, not at the next interval: an auditor
        fails a partition that has records and no checkpoint.
        """
        due = time.monotonic() - self.last_checkpoint >= self.checkpoint_interval
        unsigned = any(p not in self.checkpointed for p in self.heads)
        if not (due or force or unsigned) or self.producer is None:
            return 0
        self.last_checkpoint = time.monotonic()
        grown = {p: h for p, h in self.heads.items() if self.checkpointed.get(p) != h.count}
        for partition, head in grown.items():
            document = signed_checkpoint(
                self.audit_key,
                producer=self.producer_name,
                topic=self.topic,
                partition=partition,
                head=head,
            )
            await self.producer.send_and_wait(
                CHECKPOINTS_TOPIC,
                json.dumps(document).encode(),
                key=f"{self.topic}:{partition}".encode(),
            )
            self.checkpointed[partition] = head.count
        return len(grown)

    async def _publish_verification_key(self) -> None:
        assert self.producer is not None
        document = public_key_document(self.producer_name, self.audit_key.public_key())
        await ensure_topics(self.bootstrap, [CHECKPOINTS_TOPIC, KEYS_TOPIC], options=self.kafka)
        await self.producer.send_and_wait(
            KEYS_TOPIC, json.dumps(document).encode(), key=document["key_id"].encode()
        )


def discard_queued(producer: AIOKafkaProducer, error: BaseException) -> None:
    """Fail every message still queued in `producer`, so none lands after one that failed.

    A message fails in the accumulator when its partition had no leader for the request
    timeout; the younger ones of that partition would be sent once a leader is back, and
    their chain would then skip the failed one. They are all sent again from the saved
    position instead. aiokafka has no public call for this (`stop` flushes the queue).
    """
    accumulator = producer._message_accumulator
    for batches in accumulator._batches.values():
        for batch in batches:
            batch.failure(exception=error)
    accumulator._batches.clear()


async def ensure_topics(
    bootstrap: str, topics: Sequence[str], *, options: Mapping[str, Any] | None = None
) -> None:
    """Create the topics if they do not exist yet, with the partitions the topology gives.

    A service's principal may not create topics: the admin created its topics at set-up,
    so they exist (and it may describe them); one that does not is refused by the broker.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(options or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t, num_partitions=partitions_of(t), replication_factor=1)
            for t in topics
            if t not in existing
        ]
        if missing:
            # Another replica may create them meanwhile.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
