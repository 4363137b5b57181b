"""The Kafka broker SIGKILLed and restarted during a steady load of commands.

Invariant: every accepted command's events reach a consumer exactly once in effect and,
for each citizen, in the order they were committed; commands are accepted throughout
(they need only the event store), and the relay and consumers recover by themselves.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import pytest

from rse_identity.published import to_integration_event
from rse_shared.testing import eventually, feeding
from tests.e2e.conftest import Platform
from tests.e2e.flows import register_citizen

from .conftest import FaultServers
from .support import (
    LedgerApplication,
    Outcomes,
    registration,
    relay_backlog,
    steady_load,
    stored_integration_events,
)

pytestmark = pytest.mark.integration


async def test_broker_restart_under_load_keeps_exactly_once_in_citizen_order(
        servers: FaultServers, platform: Platform, fresh_database: str) -> None:
    identity = platform["identity"]
    citizens = [await register_citizen(identity) for _ in range(8)]
    settings = platform.services["identity"].settings
    ledger = LedgerApplication(env=settings.model_copy(
        update={"postgres_db": fresh_database}).eventstore_env())
    outcomes = Outcomes()
    done = asyncio.Event()

    async def command(i: int) -> None:
        if i % 4 == 0:  # a new citizen now and then, changes of known ones otherwise
            response = await identity.post("/citizens", json=registration())
        else:
            citizen = random.choice(citizens)
            response = await identity.patch(f"/citizens/{citizen['citizen_id']}/contacts",
                                             json={"phone": f"+351 91{i:07d}"},
                                             headers=citizen["auth"])
        if response.is_success:
            outcomes.accepted.append(response.headers.get("location", ""))
        else:
            outcomes.refused.append(response.status_code)

    async def broker_fault() -> None:
        await asyncio.sleep(2)
        await asyncio.to_thread(servers.kill, "kafka")
        await asyncio.sleep(2)  # commands go on with the broker away
        await asyncio.to_thread(servers.start, "kafka")
        await asyncio.sleep(3)
        done.set()

    async with feeding(settings.kafka_bootstrap, ledger, [platform.topics["identity"]]):
        await asyncio.gather(steady_load(command, rate=10, until=done), broker_fault())
        # Commands need only the event store: none is refused for the broker's absence
        # (two overlapping changes of one citizen may meet, and the later gets 409).
        assert set(outcomes.refused) <= {409}, outcomes.refused

        def all_relayed() -> bool:
            return relay_backlog(settings, "identity") == 0

        began = time.monotonic()
        await eventually(lambda: asyncio.to_thread(all_relayed), timeout=90)
        relayed_in = time.monotonic() - began
        committed = stored_integration_events(platform.services["identity"].app,
                                              to_integration_event)
        expected: dict[uuid.UUID, list[tuple[str, int]]] = {}
        for event in committed:
            expected.setdefault(event.citizen_id, []).append(
                (str(event.event_id), event.source_position))

        def applied() -> dict[uuid.UUID, list[tuple[str, int]]]:
            found: dict[uuid.UUID, list[tuple[str, int]]] = {}
            for citizen_id in expected:
                ledger_of = ledger.ledger(citizen_id)
                found[citizen_id] = ledger_of.applied if ledger_of else []
            return found

        async def caught_up() -> Any:
            return all(len(v) >= len(expected[k])
                       for k, v in (await asyncio.to_thread(applied)).items())

        await eventually(caught_up, timeout=90)
        consumed_in = time.monotonic() - began
        await asyncio.sleep(1)  # time for a late duplicate to show
        # Exactly once, in the committed order, for every citizen.
        assert applied() == expected
    ledger.close()
    assert len(outcomes.accepted) > 40
    print(f"accepted {len(outcomes.accepted)} commands, "
          f"{sum(len(v) for v in expected.values())} events for {len(expected)} citizens; "
          f"relay caught up {relayed_in:.1f}s and consumer {consumed_in:.1f}s after the load")
