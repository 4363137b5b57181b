"""The Kafka broker SIGKILLed and restarted during a steady load of commands.

Invariant: every accepted command's events reach a consumer exactly once in effect and,
for each citizen, in the order they were committed; commands are accepted throughout
(they need only the event store), and the relay and consumers recover by themselves.
The broker dies just after a burst of events was committed at once, so the relay has
batches in flight and the consumer applies batches of many.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from rse_identity.published import to_integration_event
from rse_shared.consumer_store import ConsumerState
from rse_shared.contracts import IntegrationEvent
from rse_shared.eventstore import ServiceApplication, in_thread
from rse_shared.service import Service
from rse_shared.testing import eventually, feeding
from tests.e2e.conftest import Platform
from tests.e2e.flows import register_citizen

from .bursts import contact_changes
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

BURST = (8, 150)  # citizens, and changes of each, committed in one transaction

Applied = dict[uuid.UUID, list[tuple[str, int]]]


class BatchLedger(LedgerApplication):
    """The ledger, noting how many events each of its transactions applied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    def apply(
        self,
        events: Sequence[IntegrationEvent],
        state: ConsumerState,
        traceparents: Sequence[str | None] = (),
    ) -> None:
        super().apply(events, state, traceparents)
        self.batches.append(len(events))


@dataclass
class Commands:
    """The load: a new citizen now and then, changes of known ones otherwise."""

    identity: httpx.AsyncClient
    citizens: list[dict[str, Any]]
    outcomes: Outcomes = field(default_factory=Outcomes)

    async def send(self, i: int) -> None:
        if i % 4 == 0:
            response = await self.identity.post("/citizens", json=registration())
        else:
            citizen = random.choice(self.citizens)
            response = await self.identity.patch(
                f"/citizens/{citizen['citizen_id']}/contacts",
                json={"phone": f"+351 91{i:07d}"},
                headers=citizen["auth"],
            )
        if response.is_success:
            self.outcomes.accepted.append(response.headers.get("location", ""))
        else:
            self.outcomes.refused.append(response.status_code)


async def broker_fault(
    servers: FaultServers, service: Service, bursting: list[uuid.UUID], done: asyncio.Event
) -> int:
    """Burst, kill the broker at once, restart it; the relay's backlog at the kill."""
    await asyncio.sleep(2)
    await in_thread(contact_changes, service.app, bursting, BURST[1])
    await asyncio.to_thread(servers.kill, "kafka")
    backlog = await asyncio.to_thread(relay_backlog, service.settings, "identity")
    await asyncio.sleep(2)  # commands go on with the broker away
    await asyncio.to_thread(servers.start, "kafka")
    await asyncio.sleep(3)
    done.set()
    return backlog


def expected_of(service: Service) -> Applied:
    """Each citizen's committed integration events, in the order they were committed."""
    expected: Applied = {}
    assert isinstance(service.app, ServiceApplication)
    for event in stored_integration_events(service.app, to_integration_event):
        expected.setdefault(event.citizen_id, []).append(
            (str(event.event_id), event.source_position)
        )
    return expected


def applied_of(ledger: LedgerApplication, citizens: Iterable[uuid.UUID]) -> Applied:
    found: Applied = {}
    for citizen_id in citizens:
        ledger_of = ledger.ledger(citizen_id)
        found[citizen_id] = ledger_of.applied if ledger_of else []
    return found


async def caught_up(ledger: LedgerApplication, expected: Applied) -> bool:
    found = await asyncio.to_thread(applied_of, ledger, expected)
    return all(len(v) >= len(expected[k]) for k, v in found.items())


async def test_broker_restart_under_load_keeps_exactly_once_in_citizen_order(
    servers: FaultServers, platform: Platform, fresh_database: str
) -> None:
    identity, service = platform["identity"], platform.services["identity"]
    load = Commands(identity, [await register_citizen(identity) for _ in range(8)])
    bursting = [
        uuid.UUID((await register_citizen(identity))["citizen_id"]) for _ in range(BURST[0])
    ]  # changed by the burst alone
    ledger = BatchLedger(
        env=service.settings.model_copy(update={"postgres_db": fresh_database}).eventstore_env()
    )
    done = asyncio.Event()
    async with feeding(service.settings.kafka_bootstrap, ledger, [platform.topics["identity"]]):
        _, backlog_at_kill = await asyncio.gather(
            steady_load(load.send, rate=10, until=done),
            broker_fault(servers, service, bursting, done),
        )
        # Commands need only the event store: none is refused for the broker's absence
        # (two overlapping changes of one citizen may meet, and the later gets 409).
        assert set(load.outcomes.refused) <= {409}, load.outcomes.refused

        began = time.monotonic()
        await eventually(
            lambda: asyncio.to_thread(lambda: relay_backlog(service.settings, "identity") == 0),
            timeout=90,
        )
        relayed_in = time.monotonic() - began
        expected = expected_of(service)
        await eventually(lambda: caught_up(ledger, expected), timeout=90)
        consumed_in = time.monotonic() - began
        await asyncio.sleep(1)  # time for a late duplicate to show
        # Exactly once, in the committed order, for every citizen.
        assert applied_of(ledger, expected) == expected
    ledger.close()
    assert len(load.outcomes.accepted) > 40
    # The broker died with part of the burst unacknowledged; the ledger applied batches.
    assert backlog_at_kill > 0
    assert max(ledger.batches) > 1, ledger.batches
    print(
        f"accepted {len(load.outcomes.accepted)} commands, "
        f"{sum(len(v) for v in expected.values())} events for {len(expected)} citizens; "
        f"backlog at the kill {backlog_at_kill}, largest batch {max(ledger.batches)}; "
        f"relay caught up {relayed_in:.1f}s and consumer {consumed_in:.1f}s after the load"
    )
