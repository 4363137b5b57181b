"""Requests' read models are idempotent and can be rebuilt from its own log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rse_shared.service import Service
from rse_shared.testing import TokenMint, eventually

from .conftest import DOCTOR, World, open_slot

pytestmark = pytest.mark.integration

COLLECTIONS = ("patients", "slots", "appointments", "renewals", "referrals")


async def snapshot(service: Service) -> dict[str, list[dict[str, Any]]]:
    return {name: await service.db[name].find().sort("_id", 1).to_list() for name in COLLECTIONS}


async def test_replaying_the_log_again_or_from_scratch_gives_the_same_read_models(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    requests_service: Service,
) -> None:
    citizen = await world.citizen(medications=("M1",))
    await world.exempt(citizen)
    slot_id = await open_slot(client, mint, days=3)
    booked = await client.post(
        f"/citizens/{citizen}/appointments",
        json={"slot_id": slot_id},
        headers=mint.citizen(citizen),
    )
    renewal = await client.post(
        f"/citizens/{citizen}/renewals",
        json={"medication_ids": ["M1"]},
        headers=mint.citizen(citizen),
    )
    referral = await client.post(
        "/referrals",
        headers=mint.professional(*DOCTOR),
        json={
            "citizen_id": str(citizen),
            "specialty": "Dermatologia",
            "hospital": "HSJ",
            "priority": "normal",
        },
    )
    assert [booked.status_code, renewal.status_code, referral.status_code] == [201, 201, 201]

    async def settled() -> dict[str, list[dict[str, Any]]] | None:
        docs = await snapshot(requests_service)
        exempt = docs["patients"] and docs["patients"][0]["exemptions"]
        return docs if exempt and all(docs[n] for n in COLLECTIONS) else None

    await eventually(settled, timeout=30)

    await requests_service.workers.close()
    for runner in requests_service.projectors.values():
        await runner.run_once()  # caught up with the whole log before the snapshot
    before = await snapshot(requests_service)
    checkpoints = requests_service.db["projection_checkpoints"]
    for runner in requests_service.projectors.values():
        await checkpoints.delete_one({"_id": runner.projection.name})
        await runner.run_once()  # every event applied a second time
    assert await snapshot(requests_service) == before
    for runner in requests_service.projectors.values():
        await runner.rebuild()
    assert await snapshot(requests_service) == before
