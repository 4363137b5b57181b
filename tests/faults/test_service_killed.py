"""A service SIGKILLed between the event-store commit and the Kafka publish.

Invariant: once the service is back, every event it committed is on its topic, and the
topic holds nothing that was not committed. The only trace a kill may leave is an
event published twice (relay killed after the broker's ack, before saving its position):
the same event id and the same document, which consumers recognise.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from rse_audit.verify import verify
from rse_identity.application import IdentityApplication
from rse_identity.published import to_integration_event
from rse_shared.contracts import CitizenRegistered
from rse_shared.testing import eventually

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

KILLS = 3


async def test_everything_committed_is_published_once_the_service_is_back(
        servers: FaultServers, fresh_database: str, fresh_mongo: str, tmp_path: Path) -> None:
    settings = servers.settings().model_copy(update={"postgres_db": fresh_database})
    # A relay that polls once a second leaves committed events unpublished most of the time,
    # so every kill below lands between a commit and its publish.
    identity = ServiceProcess("identity", {
        **servers.service_env(), "RSE_POSTGRES_DB": fresh_database, "RSE_MONGO_DB": fresh_mongo,
        "RSE_RELAY_POLL_INTERVAL": "1.0", "RSE_CHECKPOINT_INTERVAL": "1.0",
        "RSE_TOPIC_PREFIX": KILLED_PREFIX}, tmp_path)
    topic = f"{KILLED_PREFIX}identity.events"
    outcomes = Outcomes()
    backlog_at_kill: list[int] = []

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

    done = asyncio.Event()
    restarts: list[float] = []

    async def kill_and_restart() -> None:
        for _ in range(KILLS):
            await asyncio.sleep(3)
            identity.kill()
            backlog_at_kill.append(relay_backlog(settings, "identity"))
            restarts.append(await identity.start())
        await asyncio.sleep(2)
        done.set()

    await identity.start()
    try:
        await asyncio.gather(
            steady_load(register, rate=5, until=done),
            kill_and_restart())

        async def relay_caught_up() -> bool:
            return relay_backlog(settings, "identity") == 0

        await eventually(relay_caught_up, timeout=60)
    finally:
        identity.stop()

    assert identity.starts == KILLS + 1
    assert any(backlog > 0 for backlog in backlog_at_kill), backlog_at_kill
    assert outcomes.accepted, outcomes
    assert set(outcomes.refused) <= {503}, outcomes.refused

    app = IdentityApplication(env=settings.eventstore_env())
    try:
        stored = stored_integration_events(app, to_integration_event)
    finally:
        app.close()
    published = await topic_documents(settings.kafka_bootstrap, topic)

    # Everything committed is published...
    stored_ids = {str(e.event_id) for e in stored}
    published_ids = Counter(d["event_id"] for d in published)
    assert stored_ids == set(published_ids), "published and committed events differ"
    # ...under the position the store gave it...
    by_id = {str(e.event_id): e for e in stored}
    assert all(d["source_position"] == by_id[d["event_id"]].source_position for d in published)
    # ...and a copy published twice is the very same document.
    for event_id, copies in published_ids.items():
        if copies > 1:
            assert len({str(sorted(d.items())) for d in published
                        if d["event_id"] == event_id}) == 1
    # Every accepted registration is on the topic.
    registered = {d["citizen_id"] for d in published
                  if d["event_type"] == CitizenRegistered.event_type}
    assert set(outcomes.accepted) <= registered
    assert all(uuid.UUID(c) for c in registered)
    # The chains still verify, re-publications and all.
    _, findings = await verify(settings.kafka_bootstrap, [topic])
    assert findings == []
    print(f"accepted {len(outcomes.accepted)}, unanswered {outcomes.unanswered}, "
          f"backlog at each kill {backlog_at_kill}, restarts {restarts}, "
          f"published twice {sum(1 for n in published_ids.values() if n > 1)}")

