"""identity's events open and close records, exactly once, through the real Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import httpx
import pytest

from rse_shared.contracts import CitizenDeregistered, HealthRecordOpened
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.testing import TokenMint, a_registration, eventually, publish

from .conftest import World, assert_problem

pytestmark = pytest.mark.integration


async def test_a_registration_produced_twice_opens_one_record(
    world: World,
    records: Service,
) -> None:
    registration = a_registration()
    await publish(records.settings.kafka_bootstrap, world.topics["identity"], registration)
    citizen = await world.registered(registration)  # produced a second time
    [opened] = await world.published(HealthRecordOpened, 1)
    assert opened.citizen_id == citizen
    assert await in_thread(world.record_version, citizen) == 1


async def test_a_republished_registration_at_a_new_position_conflicts_and_changes_nothing(
    world: World,
    records: Service,
) -> None:
    registration = a_registration()
    citizen = await world.registered(registration)
    again = registration.model_copy(update={"source_position": 7})
    await publish(records.settings.kafka_bootstrap, world.topics["identity"], again)
    await asyncio.sleep(1.0)
    assert len(await world.published(HealthRecordOpened, 1)) == 1
    assert await in_thread(world.record_version, citizen) == 1


async def test_a_deregistered_citizens_record_takes_no_new_entries_but_can_be_read(
    world: World,
    records: Service,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    await publish(
        records.settings.kafka_bootstrap,
        world.topics["identity"],
        CitizenDeregistered(
            event_id=citizen,
            occurred_at=datetime.now(UTC),
            producer="identity",
            citizen_id=citizen,
            source_position=3,  # after the family doctor's assignment
            reason="emigration",
            effective_date=date.today(),
        ),
    )

    async def closed() -> bool:
        doc = await records.db.records.find_one({"_id": str(citizen)})
        return doc is not None and doc["status"] == "closed"

    await eventually(closed)
    refused = await client.post(
        f"/records/{citizen}/health-summary/allergies",
        headers=mint.professional("P-1", "USF Tejo"),
        json={"allergy": "Pólen"},
    )
    assert_problem(refused, 409)
    kept = await client.get(f"/records/{citizen}", headers=mint.citizen(citizen))
    assert kept.status_code == 200 and kept.json()["status"] == "closed"
