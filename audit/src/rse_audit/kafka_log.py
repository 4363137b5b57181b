"""Reading topics from offset 0, partition by partition, in bounded batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from rse_shared import topics as topology
from rse_shared.kafka import AUDITOR, tool_options


class Record(NamedTuple):
    """One message: where it is and what it says (None if it is not a JSON object).

    A named tuple: a replay builds one per message, and a frozen dataclass's `__init__`
    (an `object.__setattr__` per field) cost a tenth of the replay's time."""

    topic: str
    partition: int
    offset: int
    document: dict[str, Any] | None
    timestamp_ms: int = 0
    """When the broker (or the producer) stamped the message, in ms since the epoch."""


Decoder = Callable[[bytes | None], dict[str, Any] | None]


def decode(value: bytes | None) -> dict[str, Any] | None:
    """A message's JSON object (None if it is not one), parsed exactly (hashes depend on it)."""
    try:
        document = json.loads(value or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def decode_fast(value: bytes | None) -> dict[str, Any] | None:
    """`decode` with orjson: for the replay, which reads values but hashes nothing.

    orjson parses what json parses to the same values, except integers beyond 64 bits,
    which it turns into floats: a chain hash over such a document would differ, so the
    verifier keeps `decode`. What orjson refuses (NaN, lone surrogates) falls back to it.
    """
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return decode(value)
    return document if isinstance(document, dict) else None


async def event_topics(bootstrap: str) -> list[str]:
    """The services' integration-event topics (`<service>.events`) that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(AUDITOR))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [t.name for t in topology.event_topics() if t.name in existing]


async def read_partitions(bootstrap: str, topic: str) -> AsyncIterator[tuple[int, list[Record]]]:
    """Each partition of `topic`, from offset 0 to its end at the time of reading."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(AUDITOR)
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            yield (
                partition,
                [r async for batch in _read_one(consumer, topic, partition) for r in batch],
            )
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str) -> AsyncIterator[Record]:
    """Every record of `topic` from offset 0, one partition after another."""
    async for batch in read_batches(bootstrap, topic):
        for record in batch:
            yield record


Ends = dict[tuple[str, int], int]
"""(topic, partition) -> the offset after the last record read (or to read)."""


async def read_batches(
    bootstrap: str, topic: str, decoder: Decoder = decode, ends: Ends | None = None
) -> AsyncIterator[list[Record]]:
    """The records of `topic` from offset 0, in offset order per partition, as fetched.

    `ends`, if given, learns where each partition's reading stopped (its end when it began).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=FETCH_BYTES,
        **tool_options(AUDITOR),
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            async for batch in _read_one(consumer, topic, partition, decoder, ends):
                yield batch
    finally:
        await consumer.stop()


async def log_ends(bootstrap: str, topics: list[str]) -> Ends:
    """Every partition's end offset now (the offset its next record will have)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(AUDITOR)
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def timestamps_at(bootstrap: str, offsets: Ends) -> dict[tuple[str, int], int]:
    """The timestamp (ms since the epoch) of the record at each (topic, partition) offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(AUDITOR)
    )
    await consumer.start()
    found = {}
    try:
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
            for message in batch.get(tp, [])[:1]:
                found[(topic, partition)] = message.timestamp
    finally:
        await consumer.stop()
    return found


FETCH_BYTES = 8 * 1024 * 1024
"""Per-partition fetch size: a replay reads whole logs, so large fetches mean few round trips."""


async def _read_one(
    consumer: AIOKafkaConsumer,
    topic: str,
    partition: int,
    decoder: Decoder = decode,
    ends: Ends | None = None,
) -> AsyncIterator[list[Record]]:
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    end = (await consumer.end_offsets([tp]))[tp]
    if ends is not None:
        ends[(topic, partition)] = end
    while await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=1000, max_records=10000)
        records = [
            Record(topic, partition, m.offset, decoder(m.value), m.timestamp)
            for m in batch.get(tp, [])
            if m.offset < end
        ]
        if records:
            yield records
