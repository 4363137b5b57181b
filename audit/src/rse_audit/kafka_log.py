"""Reading topics from offset 0, partition by partition, in bounded batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from rse_shared.kafka import AUDITOR, tool_options


@dataclass(frozen=True)
class Record:
    """One message: where it is and what it says (None if it is not a JSON object)."""

    topic: str
    partition: int
    offset: int
    document: dict[str, Any] | None


SERVICES = ("identity", "consent", "records", "requests", "benefits")
# rse-audit reads as the `auditor` principal (read-only on every topic; see rse_shared.acl):
# its password from RSE_KAFKA_PASSWORD(_FILE) or, in development, deploy/local's secrets.


async def event_topics(bootstrap: str) -> list[str]:
    """The services' integration-event topics (`<service>.events`) that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(AUDITOR))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [f"{s}.events" for s in SERVICES if f"{s}.events" in existing]


async def read_partitions(bootstrap: str, topic: str) -> AsyncIterator[tuple[int, list[Record]]]:
    """Each partition of `topic`, from offset 0 to its end at the time of reading."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                **tool_options(AUDITOR))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            yield partition, [r async for r in _read_one(consumer, topic, partition)]
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str) -> AsyncIterator[Record]:
    """Every record of `topic` from offset 0, one partition after another."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                **tool_options(AUDITOR))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            async for record in _read_one(consumer, topic, partition):
                yield record
    finally:
        await consumer.stop()


async def _read_one(consumer: AIOKafkaConsumer, topic: str,
                    partition: int) -> AsyncIterator[Record]:
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    end = (await consumer.end_offsets([tp]))[tp]
    while await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
        for message in batch.get(tp, []):
            if message.offset >= end:
                return
            yield Record(topic, partition, message.offset, _decode(message.value))


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        document = json.loads(value or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None
