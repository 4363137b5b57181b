"""Fresh topics, and producing and reading them the way the platform's relays and
consumers do."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rse_shared.chain import GENESIS, link, partition_for
from rse_shared.contracts import IntegrationEvent, parse_event
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.keyring import Keyring
from rse_shared.protection import reveal
from rse_shared.settings import ServiceSettings
from rse_shared.testing.names import RUN_ID, unique
from rse_shared.topics import EVENT_PARTITIONS, SERVICES, events_topic

created_topics: set[str] = set()
"""Topics this test process created; deleted when the session ends (`delete_created`)."""


async def create_topic(bootstrap: str, label: str = "t") -> str:
    """Create a new, uniquely named topic (as many partitions as an events topic); a
    service's label names its owner the way the topology does (`t.<id>.<service>.events`)."""
    name = unique(label).replace("_", ".")
    if label in SERVICES:
        name = f"{unique('t').replace('_', '.')}.{events_topic(label)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=EVENT_PARTITIONS, replication_factor=1)]
        )
    finally:
        await admin.close()
    created_topics.add(name)
    return name


async def delete_created(bootstrap: str) -> None:
    """Delete the topics this process created (and the DLQs and channels its services
    created beside them), so a long-lived local broker does not gather every run's
    partitions until it runs out of heap. Other sessions' topics are left alone."""
    if not created_topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        runs = {run for name in created_topics for run in RUN_ID.findall(name)}
        doomed = [
            t
            for t in await admin.list_topics()
            if t in created_topics or any(run in t for run in runs)
        ]
        for first in range(0, len(doomed), 200):
            await admin.delete_topics(doomed[first : first + 200])
        created_topics.clear()
    finally:
        await admin.close()


_published_heads: dict[tuple[str, str, int], str] = {}
"""The chain head of every partition `publish` wrote to, as a relay keeps it."""


def published_head(bootstrap: str, topic: str, partition: int) -> str:
    """The chain head `publish` left on a partition (GENESIS before the first)."""
    return _published_heads.get((bootstrap, topic, partition), GENESIS)


async def publish(
    bootstrap: str,
    topic: str,
    *events: IntegrationEvent,
    partition: int | None = None,
    chained: bool = True,
) -> None:
    """Produce integration events as a producer's relay would (acks=all, keyed by citizen,
    linked into the partition's hash chain unless not `chained`), onto `partition` if
    given, whatever the key would pick."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    try:
        partitions = len(await producer.partitions_for(topic))
        for event in events:
            key = str(event.citizen_id).encode()
            where = partition_for(key, partitions) if partition is None else partition
            document = event.to_wire()
            if chained:
                head = (bootstrap, topic, where)
                document = link(document, _published_heads.get(head, GENESIS))
                _published_heads[head] = document["chain_hash"]
            await producer.send_and_wait(
                topic, json.dumps(document).encode(), key=key, partition=where
            )
    finally:
        await producer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str, deadline: float) -> set[int]:
    partitions = consumer.partitions_for_topic(topic)
    while not partitions and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
    return set(partitions or ())


async def read_topic(
    bootstrap: str, topic: str, *, timeout: float = 10.0, expect: int | None = None
) -> list[Any]:
    """Every record on `topic` from offset 0: up to the partitions' ends as they were when
    it started (or, with `expect`, until that many are read), at most `timeout` s."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **tool_options(ADMIN),
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        tps = [
            TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic, deadline))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for items in batch.values():
                records.extend(items)
            if expect is not None and len(records) >= expect:
                break
            # A slow fetch (a loaded broker) is no end of the topic: its end offsets are.
            if expect is None and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                break
        return records
    finally:
        await consumer.stop()


def documents(records: list[Any]) -> list[dict[str, Any]]:
    """The records' values as published (protected fields still in `protected`)."""
    return [json.loads(r.value) for r in records]


def keyring_for_tests() -> Keyring:
    """The citizens' data keys, as the tests fetch them (logged as the "tests" service)."""
    return ServiceSettings().data_keyring("tests")


def revealed(records: list[Any], keyring: Keyring | None = None) -> list[dict[str, Any]]:
    """The records' values as a consumer reads them: protected fields back in clear."""
    keys = keyring or keyring_for_tests()
    return [reveal(d, keys) for d in documents(records)]


def events_of(records: list[Any], keyring: Keyring | None = None) -> list[IntegrationEvent]:
    """The records' events, parsed as a consumer parses them (revealed first)."""
    return [parse_event(d) for d in revealed(records, keyring)]
