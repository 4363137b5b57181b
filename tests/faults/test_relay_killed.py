"""A relay SIGKILLed while several batches are in flight, then started again.

Invariant: the topic then holds exactly the store's events (by event id, each under the
position the store gave it); what the dead relay had published past its saved position
comes again, byte for byte the same document; and every partition's chain verifies
against the signed checkpoints, re-publications and all.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rse_audit.verify import verify
from rse_identity.application import IdentityApplication
from rse_identity.published import to_integration_event
from rse_shared.contracts import IntegrationEvent
from rse_shared.kafka import client_options
from rse_shared.relay import OutboxRelay
from rse_shared.settings import ServiceSettings
from rse_shared.testing import REPO, eventually
from tests.e2e.conftest import FAST_HASHER

from .bursts import contact_changes, register_directly
from .conftest import FaultServers
from .support import relay_backlog, stored_integration_events, topic_documents

pytestmark = pytest.mark.integration

BATCH = 100  # notifications per relay batch: the backlog below is a dozen of them
SAVES = 2  # positions the relay saves before it dies


def backlog(app: IdentityApplication) -> list[IntegrationEvent]:
    """A dozen batches committed (most in one transaction); the events they publish."""
    citizens = register_directly(app, 40)
    contact_changes(app, citizens, 30)
    stored = stored_integration_events(app, to_integration_event)
    assert len(stored) > 10 * BATCH
    return stored


async def crash(servers: FaultServers, database: str, topic: str) -> dict[str, int]:
    """Run the dying relay until it dies; where it was (saved, acknowledged, sent)."""
    crashed = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tests.faults.dying_relay",
            servers.settings().kafka_bootstrap,
            topic,
            str(BATCH),
            str(SAVES),
        ],
        cwd=REPO,
        env={
            **servers.service_env(),
            "RSE_POSTGRES_DB": database,
            # The test's own name, so the child opens the store with the test's store key.
            "RSE_SERVICE_NAME": servers.settings().service_name,
        },
        capture_output=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    where: dict[str, int] = json.loads(crashed.stdout.splitlines()[-1])
    return where


async def relay_again(settings: ServiceSettings, app: IdentityApplication, topic: str) -> None:
    """A relay of the same name, run until the backlog is published, then stopped."""
    relay = OutboxRelay(
        app,
        to_integration_event,
        topic=topic,
        bootstrap=settings.kafka_bootstrap,
        conninfo=settings.postgres_conninfo(),
        producer="identity",
        batch_size=BATCH,
        kafka=client_options(settings),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await eventually(
            lambda: asyncio.to_thread(lambda: relay_backlog(settings, "identity") == 0), timeout=60
        )
    finally:
        stop.set()
        await running  # a relay that stops signs a last checkpoint


def published_twice(published: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    copies: dict[str, list[dict[str, Any]]] = {}
    for document in published:
        copies.setdefault(document["event_id"], []).append(document)
    return {event_id: found for event_id, found in copies.items() if len(found) > 1}


async def test_a_relay_killed_mid_window_publishes_everything_once_more_and_identically(
    servers: FaultServers, fresh_database: str, new_topic: Callable[[str], Awaitable[str]]
) -> None:
    settings = servers.settings().model_copy(update={"postgres_db": fresh_database})
    topic = await new_topic("identity")
    app = IdentityApplication(env=settings.eventstore_env(), hasher=FAST_HASHER)
    try:
        stored = await asyncio.to_thread(backlog, app)

        where = await crash(servers, fresh_database, topic)
        # Several batches were in flight: the one acknowledged and unsaved, and more sent.
        assert where["sent"] - where["saved"] >= 3 * BATCH, where
        # The position the relay saved is where it died with: nothing after it is saved.
        last = app.recorder.max_notification_id() or 0
        assert relay_backlog(settings, "identity") == last - where["saved"]
        before = await topic_documents(settings.kafka_bootstrap, topic)
        unsaved = [e for e in stored if where["saved"] < e.source_position <= where["acknowledged"]]
        assert {str(e.event_id) for e in unsaved} <= {d["event_id"] for d in before}

        await relay_again(settings, app, topic)
    finally:
        app.close()

    published = await topic_documents(settings.kafka_bootstrap, topic)
    by_id = {str(e.event_id): e for e in stored}
    # The topic holds the store's events, each under the position the store gave it...
    assert set(Counter(d["event_id"] for d in published)) == set(by_id)
    assert all(d["source_position"] == by_id[d["event_id"]].source_position for d in published)
    # ...what was published past the saved position came again, the very same document...
    twice = published_twice(published)
    assert {str(e.event_id) for e in unsaved} <= set(twice)
    assert all(
        len({json.dumps(d, sort_keys=True) for d in copies}) == 1 for copies in twice.values()
    )
    # ...and the chains verify against the signed checkpoints.
    summary, findings = await verify(settings.kafka_bootstrap, [topic])
    assert findings == []
    assert summary.duplicates >= len(unsaved)
    print(
        f"{len(stored)} events; the relay died at {where}; "
        f"{len(twice)} published twice, {summary.duplicates} recognised by verify"
    )
