"""Forged events on the bus: records must apply only what consent itself published.

The attacker holds write access to `consent.events` (a compromised broker or admin
credentials) and writes ConsentGranted messages with a plain Kafka client. What stops
them is the consumer's judgement (rse_shared.trust): the producer must own the topic,
the message must extend the partition's hash chain as records accepted it, and its
source position must be plausible. Each refused message lands in records' dead-letter
topic with its reason, and the partition keeps flowing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from rse_records.bootstrap import bootstrap
from rse_records.config import Settings
from rse_shared.chain import link, partition_for
from rse_shared.contracts import ConsentGranted
from rse_shared.eventstore import in_thread
from rse_shared.idempotent_consumer import dlq_topic
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    TokenMint,
    documents,
    eventually,
    publish,
    published_head,
    read_topic,
    running,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def topics(new_topic: Callable[[str], Awaitable[str]]) -> dict[str, str]:
    return {name: await new_topic(name) for name in ("identity", "consent", "records")}


@pytest.fixture
async def records(
    infra: ServiceSettings,
    fresh_database: str,
    fresh_mongo: str,
    topics: dict[str, str],
    mint: TokenMint,
) -> AsyncIterator[Service]:
    settings = Settings(
        environment="test",
        postgres_db=fresh_database,
        mongo_db=fresh_mongo,
        consumer_group=fresh_database,
        relay_poll_interval=0.05,
    )
    service = bootstrap(
        settings,
        topic=topics["records"],
        consumes=[topics["identity"], topics["consent"]],
        verifier=mint.verifier(),
    )
    async with running(service):
        yield service


def a_grant(citizen_id: uuid.UUID, position: int, producer: str = "consent") -> ConsentGranted:
    now = datetime.now(UTC)
    return ConsentGranted(
        event_id=uuid.uuid4(),
        occurred_at=now,
        producer=producer,
        citizen_id=citizen_id,
        source_position=position,
        consent_id=uuid.uuid4(),
        grantee_kind="all_sns",
        grantee_id=None,
        categories=("health_summary", "vaccinations"),
        purpose="treatment",
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=30),
    )


class Attacker:
    """Writes to consent's topic with a plain client, outside the test's relay chain."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap_servers, topic

    async def write(self, event: ConsentGranted, prev: str | None = None) -> bytes:
        """The event linked after `prev` (by default the real head), as raw bytes sent."""
        key = str(event.citizen_id).encode()
        partition = partition_for(key, 3)
        head = prev or published_head(self.bootstrap, self.topic, partition)
        value = json.dumps(link(event.to_wire(), head)).encode()
        await self.send(value, key)
        return value

    async def send(self, value: bytes, key: bytes) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", **tool_options(ADMIN)
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                self.topic, value, key=key, partition=partition_for(key, 3)
            )
        finally:
            await producer.stop()


@pytest.fixture
def attacker(infra: ServiceSettings, topics: dict[str, str]) -> Attacker:
    return Attacker(infra.kafka_bootstrap, topics["consent"])


async def grants_of(records: Service, citizen_id: uuid.UUID) -> set[uuid.UUID]:
    register = await in_thread(records.app.consent_register, citizen_id)  # type: ignore[attr-defined]
    return set(register.grants) if register is not None else set()


async def applied(records: Service, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> None:
    async def known() -> bool:
        return consent_id in await grants_of(records, citizen_id)

    await eventually(known)


async def dead_letters(records: Service, topic: str, expect: int) -> list[dict[str, Any]]:
    group = records.settings.consumer_group
    return documents(
        await read_topic(
            records.settings.kafka_bootstrap, dlq_topic(group, topic), expect=expect, timeout=15
        )
    )


async def test_a_grant_written_by_another_producer_is_dead_lettered_as_forged(
    records: Service,
    attacker: Attacker,
    topics: dict[str, str],
) -> None:
    citizen = uuid.uuid4()
    forged = a_grant(citizen, 1, producer="requests")
    await attacker.write(forged)  # right chain, wrong producer
    genuine = a_grant(citizen, 2)
    await publish(attacker.bootstrap, topics["consent"], genuine)
    await applied(records, citizen, genuine.consent_id)  # the partition kept flowing
    assert forged.consent_id not in await grants_of(records, citizen)
    [dead] = await dead_letters(records, topics["consent"], expect=1)
    assert dead["error"].startswith("forged")
    assert json.loads(dead["value"])["consent_id"] == str(forged.consent_id)


async def test_a_grant_that_does_not_extend_the_chain_is_dead_lettered_out_of_chain(
    records: Service,
    attacker: Attacker,
    topics: dict[str, str],
) -> None:
    citizen = uuid.uuid4()
    first = a_grant(citizen, 1)
    await publish(attacker.bootstrap, topics["consent"], first)
    await applied(records, citizen, first.consent_id)
    forged = a_grant(citizen, 2)
    await attacker.write(forged, prev="f" * 64)  # consent's name, a chain of its own
    genuine = a_grant(citizen, 3)
    await publish(attacker.bootstrap, topics["consent"], genuine)
    await applied(records, citizen, genuine.consent_id)
    assert forged.consent_id not in await grants_of(records, citizen)
    [dead] = await dead_letters(records, topics["consent"], expect=1)
    assert dead["error"].startswith("out of chain")


async def test_an_implausible_position_does_not_silence_the_citizens_later_events(
    records: Service,
    attacker: Attacker,
    topics: dict[str, str],
) -> None:
    citizen = uuid.uuid4()
    forged = a_grant(citizen, 10**12)
    await attacker.write(forged)  # consent's name, the real chain head, a position far ahead
    genuine = a_grant(citizen, 1)
    await publish(attacker.bootstrap, topics["consent"], genuine)
    await applied(records, citizen, genuine.consent_id)  # not taken for a re-publication
    assert forged.consent_id not in await grants_of(records, citizen)
    [dead] = await dead_letters(records, topics["consent"], expect=1)
    assert dead["error"].startswith("implausible position")


async def test_a_byte_identical_republication_is_a_duplicate_not_a_break(
    records: Service,
    attacker: Attacker,
    topics: dict[str, str],
) -> None:
    citizen = uuid.uuid4()
    first = a_grant(citizen, 1)
    await publish(attacker.bootstrap, topics["consent"], first)
    [copy] = [r.value for r in await read_topic(attacker.bootstrap, topics["consent"], expect=1)]
    await attacker.send(copy, str(citizen).encode())  # a relay re-publishing its last window
    later = a_grant(citizen, 2)
    await publish(attacker.bootstrap, topics["consent"], later)  # extends the first link
    await applied(records, citizen, later.consent_id)
    assert await grants_of(records, citizen) == {first.consent_id, later.consent_id}
    counted = {
        outcome: REGISTRY.get_sample_value(
            "rse_messages_consumed_total", {"topic": topics["consent"], "outcome": outcome}
        )
        for outcome in ("applied", "duplicate", "refused", "dead-lettered")
    }
    assert counted == {"applied": 2, "duplicate": 1, "refused": None, "dead-lettered": None}
