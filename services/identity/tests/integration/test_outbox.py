"""Service's events through the relay to Kafka, and its projection rebuilt from the log."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import psycopg
import pytest

from rse_identity.bootstrap import bootstrap
from rse_identity.config import Settings
from rse_identity.published import to_integration_event
from rse_shared.chain import Head, check_checkpoints, verify_partition
from rse_shared.contracts import CitizenRegistered, stable_event_id
from rse_shared.idempotent_consumer import IdempotentConsumer
from rse_shared.kafka import client_options
from rse_shared.notify import listener_for
from rse_shared.relay import OutboxRelay
from rse_shared.relay_position import PositionStore
from rse_shared.service import Service
from rse_shared.testing import RegistrationTally, documents, events_of, eventually, read_topic
from rse_shared.topics import CHECKPOINTS_TOPIC, KEYS_TOPIC

from .conftest import FAST_HASHER

pytestmark = pytest.mark.integration


@pytest.fixture
async def idle_identity(settings: Settings, fresh_topic: str) -> AsyncIterator[Service]:
    """Identity without its background relay and projector: the test drives them."""
    service = bootstrap(settings, topic=fresh_topic, hasher=FAST_HASHER)
    yield service
    await service.close()


def register(service: Service, sns: str = "123456789", nif: str = "123456789") -> uuid.UUID:
    return service.app.register_citizen(
        sns_number=sns,
        nif=nif,
        full_name="Ana Silva",
        date_of_birth=date(1980, 5, 17),
        email="ana@example.pt",
        phone="+351912345678",
        address="Rua A",
        password="a long secret",
    )


def a_relay(service: Service, topic: str) -> OutboxRelay:
    s = service.settings
    return OutboxRelay(
        service.app,
        to_integration_event,
        topic=topic,
        bootstrap=s.kafka_bootstrap,
        conninfo=s.postgres_conninfo(),
        kafka=client_options(s),
    )


NIFS = ["123456789", "501964843", "999999990", "100000002", "200000004", "300000006"]


class Crash(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


async def test_a_registered_citizen_appears_on_the_topic_exactly_once(
    identity: Service, fresh_topic: str
) -> None:
    citizen_id = await asyncio.to_thread(register, identity)
    records = await read_topic(identity.settings.kafka_bootstrap, fresh_topic, expect=1)
    await asyncio.sleep(0.5)
    records = await read_topic(identity.settings.kafka_bootstrap, fresh_topic, timeout=2)
    assert len(records) == 1
    record = records[0]
    event = events_of(records)[0]
    assert isinstance(event, CitizenRegistered)
    assert record.key == str(citizen_id).encode()
    assert event.citizen_id == citizen_id and event.producer == "identity"
    assert event.event_id == stable_event_id(citizen_id, 1)
    assert event.source_position == 1 and event.schema_version == 2
    assert dict(record.headers)["event_type"] == b"CitizenRegistered"
    wire = documents(records)[0]
    assert "nif" not in wire and "password" not in str(wire) and "email" not in wire
    assert "full_name" not in wire and "sns_number" not in wire and "protected" in wire


async def test_a_relay_killed_before_publishing_publishes_everything_on_restart(
    idle_identity: Service, fresh_topic: str
) -> None:
    register(idle_identity)
    crashing = a_relay(idle_identity, fresh_topic)
    await crashing.start()

    def die(*_: Any) -> None:
        raise Crash

    crashing.translate = die  # type: ignore[assignment]
    with pytest.raises(Crash):
        await crashing.publish_pending()
    await crashing.stop()

    restarted = a_relay(idle_identity, fresh_topic)
    await restarted.start()
    assert (await restarted.publish_pending()).published == 1
    await restarted.stop()
    records = await read_topic(idle_identity.settings.kafka_bootstrap, fresh_topic, expect=1)
    assert len(records) == 1


async def test_a_relay_killed_after_publishing_republishes_the_same_event_applied_once(
    idle_identity: Service,
    fresh_topic: str,
    consuming: IdempotentConsumer,
    tally: RegistrationTally,
) -> None:
    citizen_id = register(idle_identity)
    crashing = a_relay(idle_identity, fresh_topic)
    await crashing.start()

    async def die(*_: object) -> None:
        raise Crash

    crashing.positions.save = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await crashing.publish_pending()  # published, position not recorded
    await crashing.stop()

    restarted = a_relay(idle_identity, fresh_topic)
    await restarted.start()
    await restarted.publish_pending()
    await restarted.stop()

    records = documents(
        await read_topic(idle_identity.settings.kafka_bootstrap, fresh_topic, expect=2)
    )
    assert len(records) == 2
    assert records[0]["event_id"] == records[1]["event_id"]

    async def applied() -> bool:
        return await asyncio.to_thread(tally.count, citizen_id) == 1

    await eventually(applied)
    await asyncio.sleep(1.0)  # give the duplicate time to be (not) applied
    assert await asyncio.to_thread(tally.count, citizen_id) == 1


async def test_a_dropped_projection_rebuilt_from_the_log_equals_the_live_one(
    idle_identity: Service,
) -> None:
    app = idle_identity.app
    first = register(idle_identity)
    second = register(idle_identity, sns="987654321", nif="501964843")
    app.update_contacts(first, email="new@example.pt", address="Rua B")
    app.assign_family_doctor(second, "P-1", "USF Tejo")
    app.deregister(first, "emigration", date(2026, 11, 1))
    projector = idle_identity.projectors["citizen_directory"]
    await projector.run_once()
    await projector.run_once()  # re-running applies nothing twice
    live = await idle_identity.db.citizens.find().sort("_id").to_list()

    assert await projector.rebuild() == app.recorder.max_notification_id()
    rebuilt = await idle_identity.db.citizens.find().sort("_id").to_list()
    assert rebuilt == live
    assert {d["status"] for d in live} == {"registered", "deregistered"}
    assert await projector.checkpoint() == app.recorder.max_notification_id()


async def test_re_applying_an_old_event_changes_nothing(idle_identity: Service) -> None:
    citizen_id = register(idle_identity)
    idle_identity.app.update_contacts(citizen_id, email="new@example.pt")
    await idle_identity.projectors["citizen_directory"].run_once()
    before = await idle_identity.db.citizens.find_one({"_id": str(citizen_id)})
    registered = next(iter(idle_identity.app.events.get(citizen_id)))
    projection = idle_identity.projectors["citizen_directory"].projection
    await projection.apply(registered, 1, idle_identity.db)
    after = await idle_identity.db.citizens.find_one({"_id": str(citizen_id)})
    assert after == before and after is not None and after["email"] == "new@example.pt"


async def test_published_events_form_unbroken_chains_with_signed_checkpoints(
    idle_identity: Service, fresh_topic: str
) -> None:
    for i in range(6):
        register(idle_identity, sns=f"40000000{i}", nif=NIFS[i])
    relay = a_relay(idle_identity, fresh_topic)
    await relay.start()
    await relay.publish_pending()
    assert await relay.checkpoint_if_due(force=True) >= 1
    await relay.stop()
    bootstrap_servers = idle_identity.settings.kafka_bootstrap
    records = await read_topic(bootstrap_servers, fresh_topic, expect=6)
    partitions: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for record in records:
        partitions.setdefault(record.partition, []).append(
            (record.offset, json.loads(record.value))
        )
    keys = {
        d["key_id"]: d["public_key"]
        for d in documents(await read_topic(bootstrap_servers, KEYS_TOPIC, timeout=3))
    }
    checkpoints = [
        d
        for d in documents(await read_topic(bootstrap_servers, CHECKPOINTS_TOPIC, timeout=3))
        if d["topic"] == fresh_topic
    ]
    assert {c["partition"] for c in checkpoints} == set(partitions)
    for partition, chain in partitions.items():
        result = verify_partition(sorted(chain))
        assert result.broken is None and result.chained == len(chain)
        mine = [c for c in checkpoints if c["partition"] == partition]
        assert check_checkpoints(result, mine, keys, last_offset=chain[-1][0]) is None


async def test_a_following_relay_publishes_a_backlog_in_windows_with_unbroken_chains(
    idle_identity: Service, fresh_topic: str
) -> None:
    for i in range(6):
        register(idle_identity, sns=f"50000000{i}", nif=NIFS[i])
    relay = OutboxRelay(
        idle_identity.app,
        to_integration_event,
        topic=fresh_topic,
        bootstrap=idle_identity.settings.kafka_bootstrap,
        conninfo=idle_identity.settings.postgres_conninfo(),
        batch_size=2,
        windows=2,
        kafka=client_options(idle_identity.settings),
    )
    await relay.start()
    stop = asyncio.Event()
    following = asyncio.create_task(relay.follow(stop))
    last = idle_identity.app.recorder.max_notification_id()
    await eventually(lambda: asyncio.sleep(0, relay.position == last))
    stop.set()
    await following
    await relay.stop()
    records = await read_topic(idle_identity.settings.kafka_bootstrap, fresh_topic, expect=6)
    partitions: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for record in records:
        partitions.setdefault(record.partition, []).append(
            (record.offset, json.loads(record.value))
        )
    for chain in partitions.values():
        assert verify_partition(sorted(chain)).broken is None
    restarted = a_relay(idle_identity, fresh_topic)
    await restarted.start()
    assert (restarted.position, restarted.heads) == (relay.position, relay.heads)
    assert (await restarted.publish_pending()).published == 0
    await restarted.stop()


async def test_a_commit_wakes_the_relay_long_before_its_safety_poll(
    idle_identity: Service, fresh_topic: str
) -> None:
    s = idle_identity.settings
    listener = listener_for(idle_identity.app, s.postgres_conninfo())
    assert listener is not None
    relay = OutboxRelay(
        idle_identity.app,
        to_integration_event,
        topic=fresh_topic,
        bootstrap=s.kafka_bootstrap,
        conninfo=s.postgres_conninfo(),
        poll_interval=60.0,
        wake=listener.waiter(),
        kafka=client_options(s),
    )
    stop = asyncio.Event()
    await relay.start()
    tasks = [asyncio.create_task(listener.run(stop)), asyncio.create_task(relay.follow(stop))]
    try:
        await asyncio.sleep(0.5)  # both idle: the relay waits for a notification
        await asyncio.to_thread(register, idle_identity)
        records = await read_topic(s.kafka_bootstrap, fresh_topic, expect=1, timeout=10)
        assert len(records) == 1
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await relay.stop()


async def test_the_position_store_reconnects_when_its_connection_is_broken(
    idle_identity: Service,
) -> None:
    conninfo = idle_identity.settings.postgres_conninfo()
    store = PositionStore(conninfo, "relay:reconnect")
    assert await store.load() == (0, {})
    await store.save(1, {0: Head("a" * 64, 1)})
    assert store.conn is not None
    pid = store.conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    await store.save(2, {0: Head("b" * 64, 2)})
    assert await store.load() == (2, {0: Head("b" * 64, 2)})
    await store.close()
