"""A consumer SIGKILLed after its database write and before its offset commit.

Invariant: the redelivered message changes nothing. The effect and the message's tracking
record were committed in one transaction; the consumer that takes over receives the
message again (its offset was never committed), recognises it, and goes on with the next.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from rse_shared.kafka import ADMIN, tool_options
from rse_shared.metrics import MESSAGES_CONSUMED
from rse_shared.testing import REPO, a_registration, eventually, feeding, publish

from .conftest import FaultServers
from .support import LedgerApplication

pytestmark = pytest.mark.integration


async def committed_offsets(bootstrap: str, group: str) -> dict[object, object]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        return dict(await admin.list_consumer_group_offsets(group))
    finally:
        await admin.close()


async def test_redelivery_after_a_crash_between_write_and_commit_changes_nothing(
        servers: FaultServers, fresh_database: str, fresh_topic: str) -> None:
    settings = servers.settings().model_copy(update={"postgres_db": fresh_database})
    citizen = uuid.uuid4()
    events = [a_registration(citizen, position=p) for p in (1, 2, 3)]
    await publish(settings.kafka_bootstrap, fresh_topic, *events)
    group = f"faults-{uuid.uuid4().hex[:8]}"

    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.faults.crashing_consumer", settings.kafka_bootstrap,
         fresh_topic, group],
        cwd=REPO, env={**servers.service_env(), "RSE_POSTGRES_DB": fresh_database},
        capture_output=True, timeout=90)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]

    ledger = LedgerApplication(env=settings.eventstore_env())
    try:
        first = ledger.ledger(citizen)
        # The crash came after the write (the first event is applied) and before the commit.
        assert first is not None
        assert first.applied == [(str(events[0].event_id), 1)]
        assert await committed_offsets(settings.kafka_bootstrap, group) == {}

        duplicates = MESSAGES_CONSUMED.labels(fresh_topic, "duplicate")
        before = duplicates._value.get()
        async with feeding(settings.kafka_bootstrap, ledger, [fresh_topic], group_id=group):

            async def all_applied() -> bool:
                current = ledger.ledger(citizen)
                return current is not None and len(current.applied) >= 3

            await eventually(all_applied, timeout=60)
            await asyncio.sleep(1)  # room for a wrong second application to show
        after = ledger.ledger(citizen)
        assert after is not None
        # The first message came again and was recognised; each event applied exactly once.
        assert duplicates._value.get() - before == 1
        assert after.applied == [(str(e.event_id), e.source_position) for e in events]
    finally:
        ledger.close()
