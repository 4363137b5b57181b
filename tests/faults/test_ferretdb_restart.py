"""The MongoDB-wire server (FerretDB) SIGKILLed and restarted while a projection applies events.

Invariant: the citizen directory's checkpoint never runs ahead of its data — whenever a
separate client reads it, every citizen event at or below the checkpoint position is
reflected in the citizen's document — and after the restart the projection catches up by
itself (the service is not restarted) and equals a rebuild from the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import psycopg
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from rse_identity.projections import CitizenDirectory
from rse_shared.projection import CHECKPOINTS, POSITION, ProjectionRunner, handled_by
from rse_shared.service import Service
from rse_shared.testing import asgi_client, eventually, open_counter, unique
from tests.e2e.conftest import Platform
from tests.e2e.flows import register_citizen, staff
from tests.faults.conftest import FaultServers

pytestmark = pytest.mark.integration

Sample = tuple[int, dict[str, int]]  # checkpoint, then each citizen document's position


async def keep_writing(service: Service, stop: asyncio.Event) -> None:
    """Register citizens and change their contacts, through the API, until stopped."""
    async with asgi_client(service) as identity:
        await open_counter(service, identity)  # citizens are activated at a counter
        operator = await staff(service, identity, "operator")
        while not stop.is_set():
            citizen = await register_citizen(identity)
            for _ in range(3):
                changed = await identity.patch(
                    f"/citizens/{citizen['citizen_id']}/contacts",
                    headers=operator,
                    json={"email": f"f{uuid.uuid4().hex[:8]}@example.pt"},
                )
                assert changed.status_code == 204, changed.text


async def keep_sampling(
    url: str, database: str, stop: asyncio.Event, samples: list[Sample]
) -> None:
    """Read the checkpoint, then the documents, from a client of our own, until stopped."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(url, serverSelectionTimeoutMS=300)
    db = client[database]
    try:
        while not stop.is_set():
            with contextlib.suppress(PyMongoError):  # the server is away: no sample
                checkpoint = await db[CHECKPOINTS].find_one({"_id": CitizenDirectory.name})
                docs = await db.citizens.find({}, {POSITION: 1}).to_list()
                samples.append(
                    (
                        int(checkpoint["position"]) if checkpoint else 0,
                        {d["_id"]: d[POSITION] for d in docs},
                    )
                )
            await asyncio.sleep(0.05)
    finally:
        await client.close()


def citizen_events(service: Service) -> list[tuple[int, str]]:
    """(notification id, citizen id) of every citizen event the directory applies, in order
    (it does not apply them all: an activation changes nothing it shows)."""
    with psycopg.connect(service.settings.postgres_conninfo()) as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, topic FROM identity_events "
            "WHERE topic LIKE '%%:Citizen.%%' ORDER BY notification_id"
        ).fetchall()
    directory = CitizenDirectory()
    return [(row[0], str(row[1])) for row in rows if handled_by(directory, row[2])]


def ahead_of_data(sample: Sample, events: list[tuple[int, str]]) -> dict[str, int]:
    """Citizens whose document misses an event at or below the sample's checkpoint."""
    checkpoint, positions = sample
    due: dict[str, int] = {}
    for position, citizen_id in events:
        if position > checkpoint:
            break
        due[citizen_id] = position
    return {c: p for c, p in due.items() if positions.get(c, 0) < p}


async def test_projection_catches_up_and_its_checkpoint_never_runs_ahead(
    platform: Platform,
    servers: FaultServers,
) -> None:
    service = platform.services["identity"]
    runner = service.projectors[CitizenDirectory.name]
    stop, samples = asyncio.Event(), []
    writer = asyncio.create_task(keep_writing(service, stop))
    sampler = asyncio.create_task(
        keep_sampling(service.settings.mongo_url, service.settings.mongo_db, stop, samples)
    )
    try:
        await asyncio.sleep(2)
        servers.kill("ferretdb")
        killed_at = len(samples)
        await asyncio.sleep(4)
        servers.start("ferretdb")
        restarted_at = len(samples)
        await asyncio.sleep(2)
    finally:
        servers.start("ferretdb")
        stop.set()
        await asyncio.gather(writer, sampler)

    events = citizen_events(service)
    assert samples[killed_at - 1][0] < events[-1][0], "events were appended during the outage"
    last = await eventually(
        lambda: checkpoint_reached(runner, events[-1][0]), timeout=40, every=0.5
    )
    samples.append(
        (
            last,
            {
                d["_id"]: d[POSITION]
                for d in await service.db.citizens.find({}, {POSITION: 1}).to_list()
            },
        )
    )
    assert restarted_at < len(samples) - 1, "samples were taken after the restart"
    ahead = [(i, ahead_of_data(s, events)) for i, s in enumerate(samples)]
    assert [(i, a) for i, a in ahead if a] == []
    assert await documents_of(service.db) == await rebuilt(service, service.settings.mongo_url)


async def checkpoint_reached(runner: ProjectionRunner, position: int) -> int | None:
    with contextlib.suppress(PyMongoError):
        checkpoint = await runner.checkpoint()
        return checkpoint if checkpoint >= position else None
    return None


async def documents_of(db: Any) -> list[dict[str, Any]]:
    return list(await db.citizens.find({}).sort("_id").to_list())


async def rebuilt(service: Service, url: str) -> list[dict[str, Any]]:
    """The citizen directory replayed from the whole event store into a database of its own."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(url, tz_aware=True)
    name = unique("rse_rebuild")
    try:
        await ProjectionRunner(service.app, CitizenDirectory(), client[name]).rebuild()
        return await documents_of(client[name])
    finally:
        await client.drop_database(name)
        await client.close()
