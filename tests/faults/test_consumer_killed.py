"""A consumer SIGKILLed after its database write and before its offset commit, or inside it.

Invariant: the redelivered message changes nothing. The effect and the message's tracking
record were committed in one transaction; the consumer that takes over receives the
message again (its offset was never committed), recognises it, and goes on with the next.
A batch is one transaction too: killed after its commit, every message of it comes again
and is recognised; killed before, none of it was kept, and all of it is applied once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from rse_shared.contracts import IntegrationEvent
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.metrics import MESSAGES_CONSUMED
from rse_shared.settings import ServiceSettings
from rse_shared.testing import REPO, a_registration, eventually, feeding, publish

from .conftest import FaultServers
from .support import LedgerApplication

pytestmark = pytest.mark.integration

Applied = dict[uuid.UUID, list[tuple[str, int]]]


async def committed_offsets(bootstrap: str, group: str) -> dict[object, object]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        return dict(await admin.list_consumer_group_offsets(group))
    finally:
        await admin.close()


async def crash(
    servers: FaultServers,
    database: str,
    topic: str,
    group: str,
    moment: str = "after-commit",
    max_batch: int = 300,
) -> int:
    """Run the crashing consumer until it dies; the size of the batch it died in."""
    crashed = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tests.faults.crashing_consumer",
            servers.settings().kafka_bootstrap,
            topic,
            group,
            moment,
            str(max_batch),
        ],
        cwd=REPO,
        env={
            **servers.service_env(),
            "RSE_POSTGRES_DB": database,
            # The test's own name, so the child opens the store with the test's store key.
            "RSE_SERVICE_NAME": servers.settings().service_name,
        },
        capture_output=True,
        timeout=90,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    return int(crashed.stdout.split()[0])


def applied_of(ledger: LedgerApplication, citizens: list[uuid.UUID]) -> Applied:
    found: Applied = {}
    for citizen in citizens:
        current = ledger.ledger(citizen)
        found[citizen] = current.applied if current else []
    return found


def expected_of(events: Sequence[IntegrationEvent]) -> Applied:
    expected: Applied = {}
    for event in events:
        expected.setdefault(event.citizen_id, []).append(
            (str(event.event_id), event.source_position)
        )
    return expected


async def take_over(
    settings: ServiceSettings, ledger: LedgerApplication, topic: str, group: str, expected: Applied
) -> int:
    """Feed the ledger in the dead consumer's group until it holds `expected`; the number
    of messages it recognised as already applied."""
    duplicates = MESSAGES_CONSUMED.labels(topic, "duplicate")
    before = duplicates._value.get()
    async with feeding(settings.kafka_bootstrap, ledger, [topic], group_id=group):

        async def all_applied() -> bool:
            found = await asyncio.to_thread(applied_of, ledger, list(expected))
            return all(len(found[c]) >= len(e) for c, e in expected.items())

        await eventually(all_applied, timeout=60)
        await asyncio.sleep(1)  # room for a wrong second application to show
    return int(duplicates._value.get() - before)


async def test_redelivery_after_a_crash_between_write_and_commit_changes_nothing(
    servers: FaultServers, fresh_database: str, new_topic: Callable[[str], Awaitable[str]]
) -> None:
    settings = servers.settings().model_copy(update={"postgres_db": fresh_database})
    topic = await new_topic("identity")
    citizen = uuid.uuid4()
    events = [a_registration(citizen, position=p) for p in (1, 2, 3)]
    await publish(settings.kafka_bootstrap, topic, *events)
    group = f"faults-{uuid.uuid4().hex[:8]}"

    # One message per batch: the path a lone message and every retry take.
    assert await crash(servers, fresh_database, topic, group, max_batch=1) == 1

    ledger = LedgerApplication(env=settings.eventstore_env())
    try:
        first = ledger.ledger(citizen)
        # The crash came after the write (the first event is applied) and before the commit.
        assert first is not None
        assert first.applied == [(str(events[0].event_id), 1)]
        assert await committed_offsets(settings.kafka_bootstrap, group) == {}

        duplicates = await take_over(settings, ledger, topic, group, expected_of(events))
        after = ledger.ledger(citizen)
        assert after is not None
        # The first message came again and was recognised; each event applied exactly once.
        assert duplicates == 1
        assert after.applied == [(str(e.event_id), e.source_position) for e in events]
    finally:
        ledger.close()


@pytest.mark.parametrize("moment", ["after-commit", "in-transaction"])
async def test_a_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    servers: FaultServers,
    fresh_database: str,
    new_topic: Callable[[str], Awaitable[str]],
    moment: str,
) -> None:
    settings = servers.settings().model_copy(update={"postgres_db": fresh_database})
    topic = await new_topic("identity")
    citizens = [uuid.uuid4() for _ in range(4)]
    events = [a_registration(c, position=p) for p in range(1, 6) for c in citizens]
    await publish(settings.kafka_bootstrap, topic, *events)
    group = f"faults-{uuid.uuid4().hex[:8]}"
    expected = expected_of(events)

    in_batch = await crash(servers, fresh_database, topic, group, moment)
    assert in_batch > 1, "the consumer died in a batch of several messages"

    ledger = LedgerApplication(env=settings.eventstore_env())
    try:
        kept = applied_of(ledger, citizens)
        partitions = [f"{topic}:{p}" for p in range(3)]
        if moment == "after-commit":
            # The whole batch is stored, each citizen's events a prefix of theirs, in order.
            assert sum(len(a) for a in kept.values()) == in_batch
            assert all(a == expected[c][: len(a)] for c, a in kept.items()), kept
            assert ledger.recorder.tracking_positions(partitions) != {}
        else:
            # Nothing of the batch is kept: no effect, no tracking record, no inbox row.
            assert kept == {c: [] for c in citizens}
            assert ledger.recorder.tracking_positions(partitions) == {}
            assert ledger.recorder.inbox_positions(("identity", c) for c in citizens) == {}
        assert await committed_offsets(settings.kafka_bootstrap, group) == {}

        duplicates = await take_over(settings, ledger, topic, group, expected)
        # Every message of a committed batch came again and was recognised; one that was
        # cut off before its commit was applied as if it had never been tried.
        assert duplicates == (in_batch if moment == "after-commit" else 0)
        assert applied_of(ledger, citizens) == expected
    finally:
        ledger.close()
