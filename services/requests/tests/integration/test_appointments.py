"""Appointments with the family doctor, on the real servers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from rse_shared.contracts import AppointmentBooked, AppointmentCancelled
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.testing import TokenMint, eventually

from .conftest import DOCTOR, World, assert_problem, open_slot

pytestmark = pytest.mark.integration


async def free_slots(
    client: httpx.AsyncClient, mint: TokenMint, citizen: uuid.UUID, count: int
) -> list[dict[str, Any]]:
    async def listed() -> list[dict[str, Any]] | None:
        response = await client.get(f"/citizens/{citizen}/slots", headers=mint.citizen(citizen))
        slots: list[dict[str, Any]] = response.json()
        return slots if len(slots) == count else None

    return await eventually(listed)


def slot_events(service: Service, slot_id: str) -> int:
    return len(list(service.app.events.get(uuid.UUID(slot_id))))


async def test_a_citizen_books_and_cancels_an_appointment_with_their_family_doctor(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen()
    first, _ = await open_slot(client, mint, days=2), await open_slot(client, mint, days=3)
    offered = await free_slots(client, mint, citizen, 2)
    assert offered[0]["slot_id"] == first
    assert offered[0]["user_fee"] == {"amount": "0.00", "exempt": False}

    booked = await client.post(
        f"/citizens/{citizen}/appointments", json={"slot_id": first}, headers=mint.citizen(citizen)
    )
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["practitioner_id"] == DOCTOR[0]
    assert appointment["user_fee"] == {"amount": "0.00", "exempt": False}

    async def upcoming() -> list[Any] | None:
        view = (
            await client.get(f"/citizens/{citizen}/appointments", headers=mint.citizen(citizen))
        ).json()
        return view["upcoming"] or None

    assert (await eventually(upcoming))[0]["appointment_id"] == appointment["appointment_id"]
    agenda = (
        await client.get(f"/practitioners/{DOCTOR[0]}/agenda", headers=mint.professional(*DOCTOR))
    ).json()
    assert [s["status"] for s in agenda] == ["booked", "free"]
    assert agenda[0]["booking"]["citizen_id"] == str(citizen)

    cancelled = await client.post(
        f"/citizens/{citizen}/appointments/{appointment['appointment_id']}/cancellation",
        json={"reason": "feeling better"},
        headers=mint.citizen(citizen),
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await world.published(AppointmentBooked))[0].slot_id == uuid.UUID(first)
    gone = (await world.published(AppointmentCancelled))[0]
    assert gone.cancelled_by == "citizen" and gone.citizen_id == citizen
    await free_slots(client, mint, citizen, 2)  # the slot is offered again


async def test_a_booking_with_a_doctor_not_theirs_is_refused_and_nothing_is_recorded(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    requests_service: Service,
) -> None:
    citizen = await world.citizen()
    elsewhere = await open_slot(client, mint, days=2, doctor=("P-999", "USF Longe"))
    response = await client.post(
        f"/citizens/{citizen}/appointments",
        json={"slot_id": elsewhere},
        headers=mint.citizen(citizen),
    )
    assert_problem(response, 403)
    assert await in_thread(slot_events, requests_service, elsewhere) == 1
    patient = await in_thread(requests_service.app.patient, citizen)
    assert patient.appointments == {}


async def test_fifty_concurrent_bookings_of_one_slot_make_exactly_one_appointment(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    requests_service: Service,
) -> None:
    citizens = await world.citizens(50)
    slot_id = await open_slot(client, mint, days=5)
    responses = await asyncio.gather(
        *(
            client.post(
                f"/citizens/{c}/appointments", json={"slot_id": slot_id}, headers=mint.citizen(c)
            )
            for c in citizens
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409)
    assert await in_thread(slot_events, requests_service, slot_id) == 2  # Opened, Booked


async def test_exemption_status_is_shown_on_appointments_once_benefits_granted_it(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen()
    slot_id = await open_slot(client, mint, days=4)
    booked = await client.post(
        f"/citizens/{citizen}/appointments",
        json={"slot_id": slot_id},
        headers=mint.citizen(citizen),
    )
    assert booked.json()["user_fee"]["exempt"] is False
    await world.exempt(citizen)

    async def exempt() -> dict[str, Any] | None:
        view = (
            await client.get(f"/citizens/{citizen}/appointments", headers=mint.citizen(citizen))
        ).json()
        shown = view["upcoming"][0]["user_fee"] if view["upcoming"] else None
        return shown if shown and shown["exempt"] else None

    assert await eventually(exempt, timeout=30) == {"amount": "0.00", "exempt": True}
    agenda = (
        await client.get(f"/practitioners/{DOCTOR[0]}/agenda", headers=mint.professional(*DOCTOR))
    ).json()
    assert agenda[0]["booking"]["user_fee"]["exempt"] is True


async def test_deregistration_cancels_future_appointments_by_the_system(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen()
    slot_id = await open_slot(client, mint, days=6)
    booked = await client.post(
        f"/citizens/{citizen}/appointments",
        json={"slot_id": slot_id},
        headers=mint.citizen(citizen),
    )
    assert booked.status_code == 201
    await world.deregister(citizen)
    cancelled = (await world.published(AppointmentCancelled))[0]
    assert cancelled.cancelled_by == "system"
    assert str(cancelled.appointment_id) == booked.json()["appointment_id"]


async def test_agendas_are_their_professionals_own(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen()
    path = f"/practitioners/{DOCTOR[0]}/agenda"
    assert_problem(await client.get(path, headers=mint.professional("P-2", "USF B")), 403)
    assert_problem(await client.get(path, headers=mint.citizen(citizen)), 403)
    assert_problem(await client.get(path), 401)
    opened = await client.post(
        f"/practitioners/{DOCTOR[0]}/slots",
        headers=mint.professional("P-2", "USF B"),
        json={"starts_at": "2026-12-05T10:00:00Z"},
    )
    assert_problem(opened, 403)
    other = uuid.uuid4()
    assert_problem(
        await client.get(f"/citizens/{other}/appointments", headers=mint.citizen(citizen)), 403
    )


async def test_a_slot_is_opened_once(client: httpx.AsyncClient, mint: TokenMint) -> None:
    body = {"starts_at": "2026-12-07T10:00:00+00:00"}
    path, doctor = f"/practitioners/{DOCTOR[0]}/slots", mint.professional(*DOCTOR)
    assert (await client.post(path, json=body, headers=doctor)).status_code == 201
    same_instant = {"starts_at": "2026-12-07T11:00:00+01:00"}
    assert_problem(await client.post(path, json=same_instant, headers=doctor), 409)
