"""The idempotent consumer against the real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from eventsourcing.persistence import IntegrityError, Tracking

from rse_shared.chain import GENESIS, link, partition_for
from rse_shared.idempotent_consumer import IdempotentConsumer, dlq_topic
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.settings import ServiceSettings
from rse_shared.testing import RegistrationTally, a_registration, documents, eventually, read_topic

pytestmark = pytest.mark.integration


def bootstrap() -> str:
    """The broker the `infra` fixture found (read when a test runs, not at import)."""
    return ServiceSettings().kafka_bootstrap


async def produce(bootstrap: str, topic: str, *values: bytes, key: bytes) -> None:
    """Produce raw values onto one partition; JSON objects are chained as a relay would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    try:
        partition = partition_for(key, len(await producer.partitions_for(topic)))
        for value in values:
            await producer.send_and_wait(
                topic, chained(topic, partition, value), key=key, partition=partition
            )
    finally:
        await producer.stop()


_heads: dict[tuple[str, int], str] = {}
_links: dict[bytes, bytes] = {}


def chained(topic: str, partition: int, value: bytes) -> bytes:
    """`value` linked into the partition's chain (an exact copy stays an exact copy)."""
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return value
    if value in _links:
        return _links[value]
    linked = link(document, _heads.get((topic, partition), GENESIS))
    _heads[(topic, partition)] = linked["chain_hash"]
    _links[value] = json.dumps(linked).encode()
    return _links[value]


async def test_the_same_message_delivered_twice_is_applied_once(
    consuming: IdempotentConsumer, tally: RegistrationTally, fresh_topic: str
) -> None:
    event = a_registration()
    wire = json.dumps(event.to_wire()).encode()
    key = str(event.citizen_id).encode()
    await produce(bootstrap(), fresh_topic, wire, wire, key=key)
    later = a_registration(event.citizen_id, position=2)
    await produce(bootstrap(), fresh_topic, json.dumps(later.to_wire()).encode(), key=key)

    async def both_seen() -> bool:
        return await asyncio.to_thread(tally.count, event.citizen_id) == 2

    await eventually(both_seen)
    await asyncio.sleep(0.5)
    assert await asyncio.to_thread(tally.count, event.citizen_id) == 2  # not 3


async def test_a_redelivered_offset_is_recognised_by_its_tracking_record(
    tally: RegistrationTally, consuming: IdempotentConsumer
) -> None:
    event = a_registration()
    tracking = Tracking(application_name="some.topic:0", notification_id=42)
    assert await asyncio.to_thread(consuming.apply, event, tracking) is True
    assert await asyncio.to_thread(consuming.apply, event, tracking) is False
    assert await asyncio.to_thread(tally.count, event.citizen_id) == 1


def test_a_concurrent_duplicate_is_refused_by_the_tracking_table(tally: RegistrationTally) -> None:
    event = a_registration()
    tracking = Tracking(application_name="some.topic:1", notification_id=7)
    tally.process_event(event, tracking)  # type: ignore[arg-type]
    # The second delivery got past has_tracking_id before the first committed.
    with pytest.raises(IntegrityError):
        tally.process_event(event, tracking)  # type: ignore[arg-type]
    assert tally.count(event.citizen_id) == 1


async def test_a_poison_message_goes_to_the_dlq_and_the_partition_keeps_flowing(
    consuming: IdempotentConsumer, tally: RegistrationTally, fresh_topic: str
) -> None:
    citizen_id = uuid.uuid4()
    key = str(citizen_id).encode()
    failing = a_registration(citizen_id, position=1, full_name="Poison")
    good = a_registration(citizen_id, position=2)
    await produce(
        bootstrap(),
        fresh_topic,
        b"{not json",
        json.dumps(failing.to_wire()).encode(),
        json.dumps(good.to_wire()).encode(),
        key=key,
    )

    async def counted() -> bool:
        return await asyncio.to_thread(tally.count, citizen_id) == 1

    await eventually(counted)
    dead = documents(
        await read_topic(bootstrap(), dlq_topic(consuming.group_id, fresh_topic), expect=2)
    )
    assert [d["offset"] for d in dead] == [0, 1]
    assert dead[0]["error"].startswith("not JSON") and dead[0]["attempts"] == 1
    assert "cannot count poison" in dead[1]["error"] and dead[1]["attempts"] == 3
    assert json.loads(dead[1]["value"])["event_id"] == str(failing.event_id)


async def test_an_unknown_event_type_is_ignored(
    consuming: IdempotentConsumer, tally: RegistrationTally, fresh_topic: str
) -> None:
    citizen_id = uuid.uuid4()
    unknown = {**a_registration(citizen_id).to_wire(), "event_type": "SomethingNew"}
    good = a_registration(citizen_id, position=2)
    await produce(
        bootstrap(),
        fresh_topic,
        json.dumps(unknown).encode(),
        json.dumps(good.to_wire()).encode(),
        key=str(citizen_id).encode(),
    )

    async def counted() -> bool:
        return await asyncio.to_thread(tally.count, citizen_id) == 1

    await eventually(counted)


async def test_offsets_are_committed_soon_after_the_last_message_even_when_quiet(
    consuming: IdempotentConsumer, tally: RegistrationTally, fresh_topic: str
) -> None:
    """Commits are batched (at most every commit_interval), and the last one is not left out."""
    citizen = uuid.uuid4()
    events = [a_registration(citizen, position=p) for p in (1, 2, 3, 4, 5)]
    await produce(
        bootstrap(),
        fresh_topic,
        *(json.dumps(e.to_wire()).encode() for e in events),
        key=str(citizen).encode(),
    )

    async def all_seen() -> bool:
        return await asyncio.to_thread(tally.count, citizen) == 5

    await eventually(all_seen)

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(), **tool_options(ADMIN))
    await admin.start()
    try:

        async def all_committed() -> bool:  # the five messages share one partition
            offsets = await admin.list_consumer_group_offsets(consuming.group_id)
            return sum(meta.offset for meta in offsets.values() if meta.offset > 0) == 5

        await eventually(all_committed, timeout=5)
    finally:
        await admin.close()
