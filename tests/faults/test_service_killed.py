"""A service SIGKILLed between the event-store commit and the Kafka publish.

Invariant: once the service is back, every event it committed is on its topic, and the
topic holds nothing that was not committed. The only trace a kill may leave is an
event published twice (relay killed after the broker's ack, before saving its position):
the same event id and the same document, which consumers recognise.
Before each kill a burst of events is committed at once, so that the relay is killed
with batches in flight, at a different moment of them each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rse_audit.verify import verify
from rse_identity.application import IdentityApplication
from rse_identity.published import to_integration_event
from rse_shared.contracts import CitizenRegistered, IntegrationEvent
from rse_shared.eventstore import in_thread
from rse_shared.settings import ServiceSettings
from rse_shared.testing import eventually
from tests.e2e.conftest import FAST_HASHER

from .bursts import contact_changes, register_directly, relay_position_stalled
from .conftest import FaultServers
from .support import (
    KILLED_PREFIX,
    Outcomes,
    ServiceProcess,
    registration,
    relay_backlog,
    steady_load,
    stored_integration_events,
    topic_documents,
)

pytestmark = pytest.mark.integration

KILL_AFTER = (0.5, 0.0, 0.15)  # seconds after each burst's commit, one kill each
KILLS = len(KILL_AFTER)
BURST = (20, 30)  # citizens, and changes of each, committed in one transaction


@dataclass
class Kills:
    """What the kills found: the relay's backlog at each, and how long each restart took."""

    backlog: list[int] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)


async def kill_and_restart(
    identity: ServiceProcess,
    settings: ServiceSettings,
    app: IdentityApplication,
    bursting: list[uuid.UUID],
) -> Kills:
    """Kill the service KILLS times, each a moment after a burst was committed; the first
    time with the relay's position saves stalled, so that what it published and the broker
    acknowledged is certainly not recorded when it dies."""
    kills = Kills()
    for kill, delay in enumerate(KILL_AFTER):
        await asyncio.sleep(3)
        stall = (
            relay_position_stalled(settings.postgres_conninfo())
            if kill == 0
            else contextlib.nullcontext()
        )
        async with stall:
            await in_thread(contact_changes, app, bursting, BURST[1])
            await asyncio.sleep(delay)
            identity.kill()
            kills.backlog.append(relay_backlog(settings, "identity"))
        kills.restarts.append(await identity.start())
    await asyncio.sleep(2)
    return kills


async def load_and_kill(
    identity: ServiceProcess,
    settings: ServiceSettings,
    app: IdentityApplication,
    outcomes: Outcomes,
) -> Kills:
    """Registrations at a steady rate while the service is killed and restarted, until the
    relay has caught up."""
    bursting = await in_thread(register_directly, app, BURST[0])
    done = asyncio.Event()

    async def register(i: int) -> None:
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(f"{identity.url}/citizens", json=registration())
        except httpx.HTTPError:
            outcomes.unanswered += 1  # cut off by the kill: committed or not, we cannot know
            return
        if response.status_code == 201:
            outcomes.accepted.append(response.json()["citizen_id"])
        else:
            outcomes.refused.append(response.status_code)

    async def faults() -> Kills:
        try:
            return await kill_and_restart(identity, settings, app, bursting)
        finally:
            done.set()

    await identity.start()
    try:
        _, kills = await asyncio.gather(steady_load(register, rate=5, until=done), faults())
        await eventually(
            lambda: asyncio.to_thread(lambda: relay_backlog(settings, "identity") == 0), timeout=60
        )
    finally:
        identity.stop()
    return kills


def check_published_as_stored(
    stored: list[IntegrationEvent], published: list[dict[str, Any]], accepted: list[str]
) -> Counter[str]:
    """The topic holds what the store holds; the number of copies of each event id."""
    # Everything committed is published...
    stored_ids = {str(e.event_id) for e in stored}
    published_ids = Counter(d["event_id"] for d in published)
    assert stored_ids == set(published_ids), "published and committed events differ"
    # ...under the position the store gave it...
    by_id = {str(e.event_id): e for e in stored}
    assert all(d["source_position"] == by_id[d["event_id"]].source_position for d in published)
    # ...and a copy published twice is the very same document.
    copies: dict[str, set[str]] = {}
    for d in published:
        copies.setdefault(d["event_id"], set()).add(str(sorted(d.items())))
    assert all(len(versions) == 1 for versions in copies.values())
    # Every accepted registration is on the topic.
    registered = {
        d["citizen_id"] for d in published if d["event_type"] == CitizenRegistered.event_type
    }
    assert set(accepted) <= registered
    assert all(uuid.UUID(c) for c in registered)
    return published_ids


async def test_everything_committed_is_published_once_the_service_is_back(
    servers: FaultServers, fresh_database: str, fresh_mongo: str, tmp_path: Path
) -> None:
    settings = servers.settings().model_copy(update={"postgres_db": fresh_database})
    identity = ServiceProcess(
        "identity",
        {
            **servers.service_env(),
            "RSE_POSTGRES_DB": fresh_database,
            "RSE_MONGO_DB": fresh_mongo,
            "RSE_CHECKPOINT_INTERVAL": "1.0",
            "RSE_TOPIC_PREFIX": KILLED_PREFIX,
        },
        tmp_path,
    )
    topic = f"{KILLED_PREFIX}identity.events"
    outcomes = Outcomes()
    # The relay wakes on every commit: the steady load alone leaves it little unpublished,
    # so a burst committed just before each kill makes it land between commits and publishes.
    app = IdentityApplication(env=settings.eventstore_env(), hasher=FAST_HASHER)
    try:
        kills = await load_and_kill(identity, settings, app, outcomes)
        stored = stored_integration_events(app, to_integration_event)
    finally:
        app.close()

    assert identity.starts == KILLS + 1
    assert any(backlog > 0 for backlog in kills.backlog), kills.backlog
    assert outcomes.accepted, outcomes
    assert set(outcomes.refused) <= {503}, outcomes.refused

    published = await topic_documents(settings.kafka_bootstrap, topic)
    published_ids = check_published_as_stored(stored, published, outcomes.accepted)
    # The chains still verify, re-publications and all.
    _, findings = await verify(settings.kafka_bootstrap, [topic])
    assert findings == []
    print(
        f"accepted {len(outcomes.accepted)}, unanswered {outcomes.unanswered}, "
        f"backlog at each kill {kills.backlog}, restarts {kills.restarts}, "
        f"published twice {sum(1 for n in published_ids.values() if n > 1)}"
    )
