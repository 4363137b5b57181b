"""A batch of Kafka records judged before anything is applied: what to apply, refuse, skip.

`take_in` reads the partitions' tracking positions and chain heads once, then decides
for every record in offset order (rse_shared.trust) and collects what the one consumer
transaction must write: the tracking record of each partition, and the moved chain heads.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from aiokafka.structs import ConsumerRecord
from eventsourcing.persistence import Tracking
from pydantic import ValidationError

from rse_shared.chain import GENESIS
from rse_shared.consumer_store import ChainHead, ConsumerRecorder, ConsumerState, StreamKey
from rse_shared.contracts.envelope import IntegrationEvent, UnknownEventType, parse_event
from rse_shared.eventstore import in_thread
from rse_shared.keyring import CitizenErased
from rse_shared.protection import ProtectionBroken, is_protected
from rse_shared.trust import DUPLICATE, judge

Record: TypeAlias = ConsumerRecord[Any, Any]
IsOldest = Callable[[Record], Awaitable[bool]]
Reveal = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Puts a document's protected fields back (rse_shared.protection.reveal, off the loop)."""


class PoisonMessage(Exception):
    """A message that can never be applied (unparseable or invalid); not retried."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: applied, duplicate, ignored, refused or dead-lettered."""

    status: str
    reason: str = ""


@dataclass
class Taken:
    """One record judged: its outcome if nothing fails, the event to apply, the DLQ error."""

    record: Record
    outcome: Outcome
    event: IntegrationEvent | None = None
    dead_letter: str | None = None
    traceparent: str | None = None


@dataclass
class Intake:
    """A judged batch: its records, and the tracking and heads its transaction writes."""

    taken: list[Taken] = field(default_factory=list)
    state: ConsumerState = field(default_factory=ConsumerState)

    @property
    def events(self) -> list[IntegrationEvent]:
        return [t.event for t in self.taken if t.event is not None]

    @property
    def traceparents(self) -> list[str | None]:
        return [t.traceparent for t in self.taken if t.event is not None]


def stream_name(record: Record) -> str:
    """The Tracking application name of a record's partition."""
    return f"{record.topic}:{record.partition}"


async def take_in(
    records: Sequence[Record],
    recorder: ConsumerRecorder,
    *,
    group_id: str,
    owners: Mapping[str, str],
    is_oldest: IsOldest,
    reveal: Reveal | None = None,
) -> Intake:
    """Judge `records` (in offset order per partition) against the stored heads."""
    streams = {(r.topic, r.partition) for r in records}
    tracked = await in_thread(recorder.tracking_positions, {stream_name(r) for r in records})
    heads = await in_thread(recorder.chain_heads, group_id, streams)
    before = {k: h.copy() for k, h in heads.items()}
    intake, next_tracked = Intake(), dict(tracked)
    for record in records:
        name = stream_name(record)
        if record.offset + 1 <= next_tracked.get(name, 0):
            intake.taken.append(Taken(record, Outcome("duplicate")))
            continue
        next_tracked[name] = record.offset + 1
        head = heads[(group_id, record.topic, record.partition)]
        intake.taken.append(await _judge(record, owners[record.topic], head, is_oldest, reveal))
    intake.state.trackings = [
        Tracking(n, o) for n, o in next_tracked.items() if o != tracked.get(n)
    ]
    intake.state.heads = _moved(heads, before)
    return intake


def _moved(
    heads: dict[StreamKey, ChainHead], before: dict[StreamKey, ChainHead]
) -> dict[StreamKey, ChainHead]:
    return {
        k: h for k, h in heads.items() if (h.hash, h.known) != (before[k].hash, before[k].known)
    }


async def _judge(
    record: Record, owner: str, head: ChainHead, is_oldest: IsOldest, reveal: Reveal | None
) -> Taken:
    try:
        document = load(record.value)
    except PoisonMessage as poison:
        return Taken(record, Outcome("dead-lettered", str(poison)), dead_letter=str(poison))
    oldest = not head.known and document.get("chain_prev") != GENESIS and await is_oldest(record)
    verdict = judge(document, owner, head, oldest=oldest)
    if verdict is DUPLICATE:
        return Taken(record, Outcome("duplicate"))
    if verdict.status == "refused":
        error = f"{verdict.reason}: {verdict.detail}"
        return Taken(record, Outcome("refused", verdict.reason), dead_letter=error)
    # The owner's link, whatever becomes of its content: the chain goes on past it.
    head.advance(document["chain_hash"], document["source_position"])
    if reveal is not None and is_protected(document):
        try:
            document = await reveal(document)
        except CitizenErased:
            # Shredded: nothing of it can be applied, and nothing is wrong with it.
            return Taken(record, Outcome("skipped", "citizen erased"))
        except ProtectionBroken as broken:
            return Taken(record, Outcome("dead-lettered", str(broken)), dead_letter=str(broken))
    try:
        event = parse(document)
    except UnknownEventType as unknown:
        return Taken(record, Outcome("ignored", f"unknown event type {unknown}"))
    except PoisonMessage as poison:
        return Taken(record, Outcome("dead-lettered", str(poison)), dead_letter=str(poison))
    return Taken(
        record,
        Outcome("applied"),
        event=event.read_from(record.topic, record.partition, record.offset),
    )


def load(value: bytes | None) -> dict[str, Any]:
    """A Kafka value as a JSON object; PoisonMessage if it is not one."""
    try:
        document = json.loads(value or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as bad:
        raise PoisonMessage(f"not JSON: {bad}") from None
    if not isinstance(document, dict):
        raise PoisonMessage("not a JSON object")
    return document


def parse(document: dict[str, Any]) -> IntegrationEvent:
    """The document's contract; UnknownEventType, or PoisonMessage if it is invalid."""
    try:
        return parse_event(document)
    except ValidationError as invalid:
        # Where and what, never the input: a revealed value must not reach the dead letter.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in invalid.errors(include_input=False)
        )
        raise PoisonMessage(f"invalid {document.get('event_type')}: {problems}") from None
    except (ValueError, TypeError) as invalid:
        raise PoisonMessage(f"invalid {document.get('event_type')}: {invalid}") from None
