"""The idempotent consumer: Kafka messages applied with exactly-once effect.

Each message becomes one call of a ProcessApplication's policy. Its new events are
saved together with an eventsourcing Tracking record (`<topic>:<partition>`, offset + 1)
in one transaction, so a redelivered message is recognised and changes nothing. The
offset is committed only afterwards. A message that still fails after N attempts goes
to `<group>.<topic>.dlq` with the error, and its partition keeps flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from eventsourcing.persistence import IntegrityError, Tracking
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.security import BaseSecurity
from opentelemetry import context as otel_context
from pydantic import ValidationError

from rse_shared.contracts.envelope import IntegrationEvent, UnknownEventType, parse_event
from rse_shared.eventstore import in_thread
from rse_shared.inbox import ConsumerApplication
from rse_shared.loops import Worker
from rse_shared.metrics import CONSUMER_LAG, DLQ_MESSAGES, MESSAGES_CONSUMED
from rse_shared.telemetry import extract_trace_context, tracer

log = logging.getLogger(__name__)


def dlq_topic(group_id: str, topic: str) -> str:
    return f"{group_id}.{topic}.dlq"


def tracking_for(record: ConsumerRecord[Any, Any]) -> Tracking:
    """The Tracking record of a Kafka message (offsets start at 0, notification ids at 1)."""
    return Tracking(application_name=f"{record.topic}:{record.partition}",
                    notification_id=record.offset + 1)


class PoisonMessage(Exception):
    """A message that can never be applied (unparseable or invalid); not retried."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: applied, duplicate, ignored or dead-lettered."""

    status: str
    reason: str = ""


class IdempotentConsumer:
    """Feeds a ProcessApplication from Kafka topics with exactly-once effect."""

    def __init__(
        self,
        broker: KafkaBroker,
        app: ConsumerApplication,
        *,
        topics: list[str],
        group_id: str,
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        fetch_max_wait_ms: int = 100,
        commit_interval: float = 0.1,
    ) -> None:
        self.broker = broker
        # Offsets of applied messages are committed at most every `commit_interval` seconds
        # (and that long after the last one): a message redelivered for want of a commit is
        # recognised by its tracking record, so committing each one would only cost time.
        self.commit_interval = commit_interval
        self.applied: dict[TopicPartition, int] = {}
        self.last_commit = 0.0
        self.committing = asyncio.Lock()
        self.flusher: asyncio.Task[None] | None = None
        self.kafka: Any = None
        self.app = app
        self.topics = topics
        self.group_id = group_id
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.subscriber = broker.subscriber(
            *topics,
            group_id=group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            # A short fetch wait keeps reactions (a revoked consent) prompt on quiet topics.
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self.subscriber(self.on_message)

    async def on_message(self, message: KafkaMessage) -> None:
        record: ConsumerRecord[Any, Any] = message.raw_message
        token = otel_context.attach(extract_trace_context(record.headers))
        try:
            with tracer().start_as_current_span(f"{record.topic} process"):
                outcome = await self.handle(record)
            MESSAGES_CONSUMED.labels(record.topic, outcome.status).inc()
            log.info("message %s", outcome.status,
                     extra={"topic": record.topic, "partition": record.partition,
                            "offset": record.offset, "reason": outcome.reason})
            self.applied[TopicPartition(record.topic, record.partition)] = record.offset + 1
            self.kafka = message.consumer
            if time.monotonic() - self.last_commit >= self.commit_interval:
                await self.commit_applied()
            elif self.flusher is None or self.flusher.done():
                self.flusher = asyncio.create_task(self._commit_soon())
            self._measure_lag(message, record)
        finally:
            otel_context.detach(token)

    async def _commit_soon(self) -> None:
        await asyncio.sleep(self.commit_interval)
        await self.commit_applied()

    async def commit_applied(self) -> None:
        """Commit the offsets after the messages applied so far (never past one in hand)."""
        async with self.committing:
            offsets, self.applied = self.applied, {}
            if not offsets or self.kafka is None:
                return
            try:
                await self.kafka.commit(offsets)
            except KafkaError as lost:
                # The effects are stored with their tracking records; the messages will come
                # again (after a rebalance or a broker restart) and be recognised.
                log.warning("offset commit failed", extra={
                    "offsets": {f"{tp.topic}:{tp.partition}": o for tp, o in offsets.items()},
                    "error": type(lost).__name__})
            self.last_commit = time.monotonic()

    @staticmethod
    def _measure_lag(message: KafkaMessage, record: ConsumerRecord[Any, Any]) -> None:
        highwater = getattr(message.consumer, "highwater", None)
        if highwater is None:
            return
        end = highwater(TopicPartition(record.topic, record.partition))
        if end is not None:
            CONSUMER_LAG.labels(record.topic, str(record.partition)).set(
                max(end - record.offset - 1, 0))

    async def handle(self, record: ConsumerRecord[Any, Any]) -> Outcome:
        """Apply one record, retrying transient failures; dead-letter what cannot be applied."""
        try:
            event = decode(record.value)
        except UnknownEventType as unknown:
            return Outcome("ignored", f"unknown event type {unknown}")
        except PoisonMessage as poison:
            await self.dead_letter(record, str(poison), attempts=1)
            return Outcome("dead-lettered", str(poison))
        tracking = tracking_for(record)
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                applied = await in_thread(self.apply, event, tracking)
                return Outcome("applied" if applied else "duplicate")
            except IntegrityError as conflict:
                if await in_thread(self.already_applied, tracking):
                    return Outcome("duplicate")  # a concurrent delivery recorded it first
                error = f"conflict: {conflict}"  # another writer won the aggregate: retry
                await asyncio.sleep(self.retry_backoff * attempt)
            except Exception as failure:  # noqa: BLE001 - any failure is retried, then dead-lettered
                error = f"{type(failure).__name__}: {failure}"
                log.warning("attempt %d failed", attempt, extra={"error": error})
                await asyncio.sleep(self.retry_backoff * attempt)
        await self.dead_letter(record, error, attempts=self.max_attempts)
        return Outcome("dead-lettered", error)

    def already_applied(self, tracking: Tracking) -> bool:
        return self.app.recorder.has_tracking_id(tracking.application_name,
                                                 tracking.notification_id)

    def apply(self, event: IntegrationEvent, tracking: Tracking) -> bool:
        """Process the event unless its tracking id was already recorded."""
        if self.already_applied(tracking):
            return False
        self.app.process_event(event, tracking)  # type: ignore[arg-type]
        return True

    async def dead_letter(self, record: ConsumerRecord[Any, Any], error: str,
                          attempts: int) -> None:
        entry = {
            "group_id": self.group_id,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": _text(record.key),
            "value": _text(record.value),
            "error": error,
            "attempts": attempts,
            "failed_at": datetime.now(UTC).isoformat(),
        }
        DLQ_MESSAGES.labels(record.topic).inc()
        await self.broker.publish(
            entry,
            topic=dlq_topic(self.group_id, record.topic),
            key=record.key,
            headers={"x-error": error[:500], "x-original-topic": record.topic},
        )


def decode(value: bytes | None) -> IntegrationEvent:
    """Parse a Kafka value into its contract; PoisonMessage if it can never be applied."""
    try:
        document = json.loads(value or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as bad:
        raise PoisonMessage(f"not JSON: {bad}") from None
    if not isinstance(document, dict):
        raise PoisonMessage("not a JSON object")
    try:
        return parse_event(document)
    except (ValidationError, ValueError, TypeError) as invalid:
        raise PoisonMessage(f"invalid {document.get('event_type')}: {invalid}") from None


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def consumer_worker(bootstrap: str, app: ConsumerApplication, *, topics: list[str],
                    group_id: str, max_attempts: int = 3,
                    security: BaseSecurity | None = None) -> Worker:
    """A background worker feeding `app` from `topics` until stopped."""

    async def run(stop: asyncio.Event) -> None:
        # FastStream logs through our logger, so its lines are JSON like everything else.
        broker = KafkaBroker(bootstrap, logger=logging.getLogger("faststream"), security=security)
        consumer = IdempotentConsumer(broker, app, topics=topics, group_id=group_id,
                                      max_attempts=max_attempts)
        await broker.start()
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):  # what is not committed comes again
                await consumer.commit_applied()
            await broker.stop()

    return run
