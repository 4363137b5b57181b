"""The outbox relay: follows an application's notification log and publishes to Kafka.

Events and their notifications are committed together by the event store, so the
notification log is the outbox. The relay publishes each notification (translated into
an integration event) with acks=all, keyed by citizen id, and records its position only
after the broker acknowledged: at-least-once, resuming where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from opentelemetry.trace import SpanKind
from psycopg.types.json import Jsonb

from rse_shared.chain import (
    CHECKPOINTS_TOPIC,
    KEYS_TOPIC,
    Head,
    heads_from_json,
    heads_to_json,
    link,
    partition_for,
    public_key_document,
    signed_checkpoint,
)
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.eventstore import TRACE_ATTRIBUTE, in_thread
from rse_shared.locks import advisory_lock
from rse_shared.loops import pause
from rse_shared.metrics import EVENTS_RELAYED, RELAY_POSITION
from rse_shared.telemetry import context_from_traceparent, inject_trace_headers, tracer

log = logging.getLogger(__name__)

Translator = Callable[[Any, int], IntegrationEvent | None]
"""Maps (domain event, notification id) to an integration event, or None if internal."""

POSITION_DDL = """
CREATE TABLE IF NOT EXISTS outbox_relay_position (
    relay_name text PRIMARY KEY,
    position bigint NOT NULL,
    chain jsonb NOT NULL DEFAULT '{}'
);
ALTER TABLE outbox_relay_position ADD COLUMN IF NOT EXISTS chain jsonb NOT NULL DEFAULT '{}'
"""


class PositionStore:
    """The relay's last acknowledged notification id and chain heads, saved together."""

    def __init__(self, conninfo: str, relay_name: str) -> None:
        self.conninfo = conninfo
        self.relay_name = relay_name

    async def load(self) -> tuple[int, dict[int, Head]]:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(POSITION_DDL)
            cur = await conn.execute(
                "SELECT position, chain FROM outbox_relay_position WHERE relay_name = %s",
                (self.relay_name,),
            )
            row = await cur.fetchone()
            return (int(row[0]), heads_from_json(row[1])) if row else (0, {})

    async def save(self, position: int, heads: dict[int, Head]) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(
                "INSERT INTO outbox_relay_position (relay_name, position, chain) "
                "VALUES (%s, %s, %s) ON CONFLICT (relay_name) DO UPDATE "
                "SET position = EXCLUDED.position, chain = EXCLUDED.chain",
                (self.relay_name, position, Jsonb(heads_to_json(heads))),
            )


@dataclass
class Published:
    """What one pass of the relay did."""

    notifications: int
    published: int
    position: int


class OutboxRelay:
    """Publishes one application's notification log to its `<service>.events` topic."""

    def __init__(
        self,
        app: Application[Any],
        translate: Translator,
        *,
        topic: str,
        bootstrap: str,
        conninfo: str,
        name: str | None = None,
        batch_size: int = 200,
        poll_interval: float = 0.1,
        producer: str | None = None,
        audit_key: Ed25519PrivateKey | None = None,
        checkpoint_interval: float = 30.0,
        kafka: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
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
        self.producer: AIOKafkaProducer | None = None
        self.position = 0
        self.heads: dict[int, Head] = {}
        self.partitions = 1
        self.producer_name = producer or topic.split(".")[0]
        self.audit_key = audit_key or Ed25519PrivateKey.generate()
        self.checkpoint_interval = checkpoint_interval
        self.checkpointed: dict[int, int] = {}
        self.last_checkpoint = 0.0

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=15000,
            **self.kafka,
        )
        await self.producer.start()
        await ensure_topics(self.bootstrap, [self.topic], options=self.kafka)
        self.partitions = len(await self.producer.partitions_for(self.topic))
        self.position, self.heads = await self.positions.load()
        await self._publish_verification_key()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Follow the log for ever (until `stop`), as the single active relay."""
        stop = stop or asyncio.Event()
        async with advisory_lock(self.conninfo, self.name) as lease:
            await self.start()
            try:
                await lease.guard(self._follow(stop))
            finally:
                await self.stop()

    async def _follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            done = await self.publish_pending()
            await self.checkpoint_if_due()
            if done.notifications < self.batch_size:
                await pause(stop, self.poll_interval)

    async def publish_pending(self) -> Published:
        """Publish one batch of notifications after the recorded position."""
        notifications: Sequence[Notification] = await in_thread(
            self.app.recorder.select_notifications,
            start=self.position,
            limit=self.batch_size,
            inclusive_of_start=False,
        )
        if not notifications:
            return Published(0, 0, self.position)
        published = await self._publish(notifications)
        self.position = notifications[-1].id
        await self.positions.save(self.position, self.heads)
        EVENTS_RELAYED.labels(self.topic).inc(published)
        RELAY_POSITION.labels(self.topic).set(self.position)
        return Published(len(notifications), published, self.position)

    async def _publish(self, notifications: Sequence[Notification]) -> int:
        assert self.producer is not None, "relay not started"
        acks = []
        for notification in notifications:
            domain_event = self.app.mapper.to_domain_event(notification)
            event = self.translate(domain_event, notification.id)
            if event is None:
                continue
            acks.append(await self._send(self._chain(event),
                                         getattr(domain_event, TRACE_ATTRIBUTE, None)))
        # Every send must be acknowledged before the position moves past it.
        await asyncio.gather(*acks)
        return len(acks)

    def _chain(self, event: IntegrationEvent) -> tuple[int, bytes, dict[str, Any]]:
        """(partition, key, document) with the document linked into the partition's chain."""
        key = str(event.citizen_id).encode()
        partition = partition_for(key, self.partitions)
        head = self.heads.get(partition, Head())
        document = link(event.to_wire(), head.hash)
        self.heads[partition] = Head(document["chain_hash"], head.count + 1)
        return partition, key, document

    async def _send(self, chained: tuple[int, bytes, dict[str, Any]],
                    traceparent: str | None) -> asyncio.Future[Any]:
        partition, key, document = chained
        assert self.producer is not None
        # The publish span continues the trace of the command that stored the event.
        with tracer().start_as_current_span(
            f"{self.topic} publish", context=context_from_traceparent(traceparent),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka"},
        ):
            headers = inject_trace_headers([("event_type", document["event_type"].encode()),
                                            ("event_id", document["event_id"].encode())])
            ack: asyncio.Future[Any] = await self.producer.send(
                self.topic, value=json.dumps(document).encode(), key=key,
                partition=partition, headers=headers,
            )
            return ack

    async def checkpoint_if_due(self, force: bool = False) -> int:
        """Publish signed checkpoints of the chains that grew since the last ones."""
        due = time.monotonic() - self.last_checkpoint >= self.checkpoint_interval
        if not (due or force) or self.producer is None:
            return 0
        self.last_checkpoint = time.monotonic()
        grown = {p: h for p, h in self.heads.items() if self.checkpointed.get(p) != h.count}
        for partition, head in grown.items():
            document = signed_checkpoint(self.audit_key, producer=self.producer_name,
                                         topic=self.topic, partition=partition, head=head)
            await self.producer.send_and_wait(
                CHECKPOINTS_TOPIC, json.dumps(document).encode(),
                key=f"{self.topic}:{partition}".encode())
            self.checkpointed[partition] = head.count
        return len(grown)

    async def _publish_verification_key(self) -> None:
        assert self.producer is not None
        document = public_key_document(self.producer_name, self.audit_key.public_key())
        await ensure_topics(self.bootstrap, [CHECKPOINTS_TOPIC, KEYS_TOPIC], partitions=1,
                            options=self.kafka)
        await self.producer.send_and_wait(KEYS_TOPIC, json.dumps(document).encode(),
                                          key=document["key_id"].encode())


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int = 3, *,
                        options: Mapping[str, Any] | None = None) -> None:
    """Create the topics if they do not exist yet (partitions spread citizens, keyed by id).

    A service's principal may not create topics: the admin created its topics at set-up,
    so they exist (and it may describe them); one that does not is refused by the broker.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(options or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, num_partitions=partitions, replication_factor=1)
                   for t in topics if t not in existing]
        if missing:
            # Another replica may create them meanwhile.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
