"""Chronic medication renewal, from the request to the e-prescription, on the real servers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rse_shared.contracts import MedicationRenewalDecided, MedicationRenewalRequested
from rse_shared.testing import TokenMint, eventually

from .conftest import DOCTOR, World, assert_problem

pytestmark = pytest.mark.integration

APPROVAL = {
    "decision": "approved",
    "valid_until": "2027-05-31",
    "items": [{"medication_id": "M1", "packs": 2}],
}


async def ask(
    client: httpx.AsyncClient, mint: TokenMint, citizen: uuid.UUID, *medication_ids: str
) -> httpx.Response:
    return await client.post(
        f"/citizens/{citizen}/renewals",
        json={"medication_ids": list(medication_ids)},
        headers=mint.citizen(citizen),
    )


async def status_of(
    client: httpx.AsyncClient, mint: TokenMint, citizen: uuid.UUID, request_id: str, wanted: str
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        response = await client.get(
            f"/citizens/{citizen}/renewals/{request_id}", headers=mint.citizen(citizen)
        )
        view: dict[str, Any] = response.json()
        return view if response.status_code == 200 and view["status"] == wanted else None

    return await eventually(reached, timeout=30)


async def test_an_approved_renewal_is_followed_to_its_prescription(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen(medications=("M1", "M2"))
    asked = await ask(client, mint, citizen, "M1")
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["request_id"]
    doctor = mint.professional(*DOCTOR)

    async def pending() -> list[Any] | None:
        return (
            await client.get(f"/practitioners/{DOCTOR[0]}/renewals", headers=doctor)
        ).json() or None

    assert (await eventually(pending))[0]["medications"][0]["name"] == "drug M1"
    decided = await client.post(
        f"/practitioners/{DOCTOR[0]}/renewals/{request_id}/decision", json=APPROVAL, headers=doctor
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"

    published = (await world.published(MedicationRenewalDecided))[0]
    assert published.request_id == uuid.UUID(request_id) and published.decision == "approved"
    assert published.items[0].packs == 2 and published.citizen_id == citizen
    assert (await world.published(MedicationRenewalRequested))[0].practitioner_id == DOCTOR[0]

    issued = await world.prescribe(citizen, uuid.UUID(request_id))
    view = await status_of(client, mint, citizen, request_id, "prescribed")
    assert view["prescription_id"] == str(issued.prescription_id)
    assert view["prescription_number"] == issued.prescription_number


async def test_a_rejected_renewal_shows_its_reason(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen(medications=("M1",))
    request_id = (await ask(client, mint, citizen, "M1")).json()["request_id"]
    rejected = await client.post(
        f"/practitioners/{DOCTOR[0]}/renewals/{request_id}/decision",
        json={"decision": "rejected", "reason": "book a consultation first"},
        headers=mint.professional(*DOCTOR),
    )
    assert rejected.status_code == 200
    view = await status_of(client, mint, citizen, request_id, "rejected")
    assert view["reason"] == "book a consultation first"


async def test_only_medications_on_the_summary_can_be_renewed(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen(medications=("M1",))
    assert_problem(await ask(client, mint, citizen, "M1", "M7"), 422)
    assert (
        await client.get(f"/citizens/{citizen}/renewals", headers=mint.citizen(citizen))
    ).json() == []


async def test_only_the_addressed_doctor_decides(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen(medications=("M1",))
    request_id = (await ask(client, mint, citizen, "M1")).json()["request_id"]
    stranger = await client.post(
        f"/practitioners/P-2/renewals/{request_id}/decision",
        json=APPROVAL,
        headers=mint.professional("P-2", "USF B"),
    )
    assert_problem(stranger, 403)
    as_citizen = await client.post(
        f"/practitioners/{DOCTOR[0]}/renewals/{request_id}/decision",
        json=APPROVAL,
        headers=mint.citizen(citizen),
    )
    assert_problem(as_citizen, 403)
    impersonating = await client.post(
        f"/practitioners/{DOCTOR[0]}/renewals/{request_id}/decision",
        json=APPROVAL,
        headers=mint.professional("P-2", "USF B"),
    )
    assert_problem(impersonating, 403)


async def test_a_new_family_doctor_receives_the_pending_renewals(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen(medications=("M1",))
    request_id = (await ask(client, mint, citizen, "M1")).json()["request_id"]
    await world.reassign(citizen, "P-200", "USF Nova")

    async def moved() -> list[Any] | None:
        return (
            await client.get(
                "/practitioners/P-200/renewals", headers=mint.professional("P-200", "USF Nova")
            )
        ).json() or None

    assert (await eventually(moved))[0]["request_id"] == request_id
    approved = await client.post(
        f"/practitioners/P-200/renewals/{request_id}/decision",
        json=APPROVAL,
        headers=mint.professional("P-200", "USF Nova"),
    )
    assert approved.status_code == 200, approved.text


async def test_deregistration_cancels_pending_renewals(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen(medications=("M1",))
    request_id = (await ask(client, mint, citizen, "M1")).json()["request_id"]
    await world.deregister(citizen)
    await status_of(client, mint, citizen, request_id, "cancelled")
