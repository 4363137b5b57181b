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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from opentelemetry.trace import SpanKind

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
    position bigint NOT NULL
)
"""


class PositionStore:
    """The relay's last acknowledged notification id, in the service's own database."""

    def __init__(self, conninfo: str, relay_name: str) -> None:
        self.conninfo = conninfo
        self.relay_name = relay_name

    async def load(self) -> int:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(POSITION_DDL)
            cur = await conn.execute(
                "SELECT position FROM outbox_relay_position WHERE relay_name = %s",
                (self.relay_name,),
            )
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def save(self, position: int) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(
                "INSERT INTO outbox_relay_position (relay_name, position) VALUES (%s, %s) "
                "ON CONFLICT (relay_name) DO UPDATE SET position = EXCLUDED.position",
                (self.relay_name, position),
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
    ) -> None:
        self.app = app
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

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=15000,
        )
        await self.producer.start()
        await ensure_topics(self.bootstrap, [self.topic])
        self.position = await self.positions.load()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Follow the log for ever (until `stop`), as the single active relay."""
        stop = stop or asyncio.Event()
        async with advisory_lock(self.conninfo, self.name):
            await self.start()
            try:
                while not stop.is_set():
                    done = await self.publish_pending()
                    if done.notifications < self.batch_size:
                        await pause(stop, self.poll_interval)
            finally:
                await self.stop()

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
        await self.positions.save(self.position)
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
            acks.append(await self._send(event, getattr(domain_event, TRACE_ATTRIBUTE, None)))
        # Every send must be acknowledged before the position moves past it.
        await asyncio.gather(*acks)
        return len(acks)

    async def _send(self, event: IntegrationEvent,
                    traceparent: str | None) -> asyncio.Future[Any]:
        assert self.producer is not None
        # The publish span continues the trace of the command that stored the event.
        with tracer().start_as_current_span(
            f"{self.topic} publish", context=context_from_traceparent(traceparent),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka"},
        ):
            headers = inject_trace_headers([("event_type", event.event_type.encode()),
                                            ("event_id", str(event.event_id).encode())])
            ack: asyncio.Future[Any] = await self.producer.send(
                self.topic,
                value=json.dumps(event.to_wire()).encode(),
                key=str(event.citizen_id).encode(),
                headers=headers,
            )
            return ack


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int = 3) -> None:
    """Create the topics if they do not exist yet (partitions spread citizens, keyed by id)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
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
