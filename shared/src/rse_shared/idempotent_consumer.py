"""The idempotent consumer: Kafka messages applied with exactly-once effect.

Messages come in batches (up to `max_batch`, as many as one fetch returned). Each is
judged first (rse_shared.trust: only the topic owner's events, only as its partition's
chain goes on); the accepted ones are applied by the ConsumerApplication in ONE
transaction with one Tracking record per partition (`<topic>:<partition>`, last offset
+ 1), the inbox rows and the chain heads, so a redelivered message is recognised and
changes nothing. Offsets are committed only afterwards. A batch that fails is tried
again message by message; a message that still fails after N attempts goes to
`<group>.<topic>.dlq` with the error, and so does a refused one, with its reason; the
partition keeps flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from eventsourcing.persistence import IntegrityError, Tracking
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.security import BaseSecurity

from rse_shared.clock import utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.consumer_store import ConsumerState
from rse_shared.contracts.audit import DeadLetterEntry
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.eventstore import current_traceparent, in_thread
from rse_shared.intake import Intake, Outcome, PoisonMessage, Record, Taken, load, parse, take_in
from rse_shared.keyring import CitizenErased
from rse_shared.loops import Worker
from rse_shared.metrics import CONSUMER_LAG, DLQ_MESSAGES, MESSAGES_CONSUMED, REFUSED_MESSAGES
from rse_shared.protection import reveal
from rse_shared.telemetry import extract_trace_context, tracer
from rse_shared.topics import dlq_topic
from rse_shared.trust import expected_owners

log = logging.getLogger(__name__)

__all__ = [
    "IdempotentConsumer",
    "Outcome",
    "PoisonMessage",
    "consumer_worker",
    "decode",
    "dlq_topic",
    "tracking_for",
]


def tracking_for(record: Record) -> Tracking:
    """The Tracking record of a Kafka message (offsets start at 0, notification ids at 1)."""
    return Tracking(
        application_name=f"{record.topic}:{record.partition}", notification_id=record.offset + 1
    )


class IdempotentConsumer:
    """Feeds a ConsumerApplication from Kafka topics with exactly-once effect, in batches."""

    def __init__(
        self,
        broker: KafkaBroker,
        app: ConsumerApplication,
        *,
        topics: list[str],
        group_id: str,
        owners: Mapping[str, str] | None = None,
        topic_prefix: str = "",
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        fetch_max_wait_ms: int = 100,
        commit_interval: float = 0.1,
        max_batch: int = 300,
    ) -> None:
        self.broker = broker
        # Offsets of applied messages are committed at most every `commit_interval` seconds
        # (and that long after the last one): a message redelivered for want of a commit is
        # recognised by its tracking record, so committing each one would only cost time.
        self.commit_interval = commit_interval
        self._no_commits_yet()
        self.app = app
        self.topics = topics
        self.owners = expected_owners(topics, prefix=topic_prefix, owners=owners)
        self.group_id = group_id
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.subscriber = broker.subscriber(
            *topics,
            group_id=group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            # A short fetch wait keeps reactions (a revoked consent) prompt on quiet topics;
            # a batch is whatever one fetch brought, so a lone message is not held back.
            fetch_max_wait_ms=fetch_max_wait_ms,
            batch=True,
            max_records=max_batch,
            batch_timeout_ms=fetch_max_wait_ms,
        )
        self.subscriber(self.on_batch)

    def _no_commits_yet(self) -> None:
        self.applied: dict[TopicPartition, int] = {}
        self.last_commit = 0.0
        self.committing = asyncio.Lock()
        self.flusher: asyncio.Task[None] | None = None
        self.kafka: Any = None

    async def on_batch(self, message: KafkaMessage) -> None:
        raw = message.raw_message
        records: list[Record] = list(raw) if isinstance(raw, tuple) else [raw]
        if not records:
            return
        self.kafka = message.consumer
        outcomes = await self.handle_batch(records)
        for record, outcome in zip(records, outcomes, strict=True):
            MESSAGES_CONSUMED.labels(record.topic, outcome.status).inc()
            if outcome.status == "refused":
                REFUSED_MESSAGES.labels(record.topic, outcome.reason).inc()
            if outcome.status != "applied":
                log.info(
                    "message %s",
                    outcome.status,
                    extra={
                        "topic": record.topic,
                        "partition": record.partition,
                        "offset": record.offset,
                        "reason": outcome.reason,
                    },
                )
            self.applied[TopicPartition(record.topic, record.partition)] = record.offset + 1
        if self.flusher is None or self.flusher.done():
            # In the background: the next batch is judged and applied while the broker
            # stores these offsets (a commit takes tens of ms, a batch's wait otherwise).
            due = self.last_commit + self.commit_interval - time.monotonic()
            self.flusher = asyncio.create_task(self._commit_soon(max(due, 0.0)))
        self._measure_lag(message.consumer, records[-1])

    async def _commit_soon(self, delay: float) -> None:
        await asyncio.sleep(delay)
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
                log.warning(
                    "offset commit failed",
                    extra={
                        "offsets": {f"{tp.topic}:{tp.partition}": o for tp, o in offsets.items()},
                        "error": type(lost).__name__,
                    },
                )
            self.last_commit = time.monotonic()

    @staticmethod
    def _measure_lag(kafka: Any, record: Record) -> None:
        highwater = getattr(kafka, "highwater", None)
        if highwater is None:
            return
        end = highwater(TopicPartition(record.topic, record.partition))
        if end is not None:
            CONSUMER_LAG.labels(record.topic, str(record.partition)).set(
                max(end - record.offset - 1, 0)
            )

    async def handle_batch(self, records: Sequence[Record]) -> list[Outcome]:
        """Apply a batch in one transaction; if that fails, each message on its own."""
        if len(records) == 1:
            return [await self.handle(records[0])]
        intake = await self._take_in(records)
        dead = set()
        for taken in intake.taken:
            if taken.dead_letter is not None:
                await self.dead_letter(taken.record, taken.dead_letter, attempts=1)
                dead.add(id(taken.record))
        try:
            await in_thread(self.app.apply, intake.events, intake.state, intake.traceparents)
        except Exception as failure:  # noqa: BLE001 - the per-message path retries or dead-letters
            log.warning(
                "batch failed; applying its messages one by one",
                extra={"error": f"{type(failure).__name__}: {failure}", "messages": len(records)},
            )
            return [await self.handle(r, dead_lettered=id(r) in dead) for r in records]
        return [t.outcome for t in intake.taken]

    async def handle(self, record: Record, *, dead_lettered: bool = False) -> Outcome:
        """Apply one record, retrying transient failures; dead-letter what cannot be applied."""
        [taken] = (intake := await self._take_in([record])).taken
        if taken.dead_letter is not None and not dead_lettered:
            await self.dead_letter(record, taken.dead_letter, attempts=1)
        if taken.event is None:
            if intake.state.trackings:  # refused or ignored, and not to be judged again
                await in_thread(self.app.apply, [], intake.state)
            return taken.outcome
        return await self._apply_with_retries(taken, intake.state)

    async def _apply_with_retries(self, taken: Taken, state: ConsumerState) -> Outcome:
        assert taken.event is not None
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                await in_thread(self.app.apply, [taken.event], state, [taken.traceparent])
                return Outcome("applied")
            except CitizenErased:
                # What it would change belongs to an erased citizen: nothing to apply.
                await in_thread(self.app.apply, [], state)
                return Outcome("skipped", "citizen erased")
            except IntegrityError as conflict:
                if all([await in_thread(self.app.has_tracking, t) for t in state.trackings]):
                    return Outcome("duplicate")  # a concurrent delivery recorded it first
                error = f"conflict: {conflict}"  # another writer won the aggregate: retry
            except Exception as failure:  # noqa: BLE001 - any failure is retried, then dead-lettered
                error = f"{type(failure).__name__}: {failure}"
                log.warning("attempt %d failed", attempt, extra={"error": error})
            await asyncio.sleep(self.retry_backoff * attempt)
        await self.dead_letter(taken.record, error, attempts=self.max_attempts)
        # The owner's link all the same: its partition's chain and tracking go on past it.
        await in_thread(self.app.apply, [], state)
        return Outcome("dead-lettered", error)

    async def _take_in(self, records: Sequence[Record]) -> Intake:
        await self._fetch_keys(records)
        intake = await take_in(
            records,
            self.app.recorder,
            group_id=self.group_id,
            owners=self.owners,
            is_oldest=self._is_oldest,
            reveal=self._reveal if self.app.keyring is not None else None,
        )
        for taken in intake.taken:
            with tracer().start_as_current_span(
                f"{taken.record.topic} process", context=extract_trace_context(taken.record.headers)
            ):
                taken.traceparent = current_traceparent()
        return intake

    async def _fetch_keys(self, records: Sequence[Record]) -> None:
        """The data keys of a batch's citizens in one round trip to the key database (the
        records' keys are their citizens' ids), so that revealing and storing the batch
        find them cached instead of fetching one per message."""
        keyring = self.app.keyring
        if keyring is None or len(records) < 2:
            return
        citizens = []
        for record in records:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                citizens.append(uuid.UUID(record.key.decode()))
        if citizens:
            with contextlib.suppress(CitizenErased):  # the others are cached all the same
                await in_thread(keyring.data_keys, citizens, "batch")

    async def _reveal(self, document: dict[str, Any]) -> dict[str, Any]:
        keyring = self.app.keyring
        assert keyring is not None
        try:
            prefetched = keyring.holds(uuid.UUID(str(document.get("citizen_id"))))
        except ValueError:
            prefetched = False  # reveal says what is wrong with it
        if prefetched:  # no round trip to make: no thread to hop to (a tenth of a batch)
            return reveal(document, keyring)
        return await in_thread(reveal, document, keyring)

    async def _is_oldest(self, record: Record) -> bool:
        """True if `record` is the oldest its partition still holds."""
        if self.kafka is None:
            return False
        tp = TopicPartition(record.topic, record.partition)
        start: dict[TopicPartition, int] = await self.kafka.beginning_offsets([tp])
        return bool(start.get(tp) == record.offset)

    def already_applied(self, tracking: Tracking) -> bool:
        return self.app.has_tracking(tracking)

    def apply(self, event: IntegrationEvent, tracking: Tracking) -> bool:
        """Process the event unless its tracking id was already recorded (no chain check)."""
        if self.already_applied(tracking):
            return False
        self.app.apply([event], ConsumerState(trackings=[tracking]))
        return True

    async def dead_letter(self, record: Record, error: str, attempts: int) -> None:
        entry = DeadLetterEntry(
            group_id=self.group_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=_text(record.key),
            value=_text(record.value),
            error=error,
            attempts=attempts,
            failed_at=utcnow(),
        )
        DLQ_MESSAGES.labels(record.topic).inc()
        await self.broker.publish(
            entry.model_dump(mode="json"),
            topic=dlq_topic(self.group_id, record.topic),
            key=record.key,
            headers={"x-error": error[:500], "x-original-topic": record.topic},
        )


def decode(value: bytes | None) -> IntegrationEvent:
    """Parse a Kafka value into its contract; PoisonMessage if it can never be applied."""
    return parse(load(value))


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def consumer_worker(
    bootstrap: str,
    app: ConsumerApplication,
    *,
    topics: list[str],
    group_id: str,
    max_attempts: int = 3,
    topic_prefix: str = "",
    owners: Mapping[str, str] | None = None,
    security: BaseSecurity | None = None,
) -> Worker:
    """A background worker feeding `app` from `topics` until stopped."""

    async def run(stop: asyncio.Event) -> None:
        # FastStream logs through our logger, so its lines are JSON like everything else.
        broker = KafkaBroker(bootstrap, logger=logging.getLogger("faststream"), security=security)
        consumer = IdempotentConsumer(
            broker,
            app,
            topics=topics,
            group_id=group_id,
            max_attempts=max_attempts,
            topic_prefix=topic_prefix,
            owners=owners,
        )
        await broker.start()
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):  # what is not committed comes again
                await consumer.commit_applied()
            await broker.stop()

    return run
