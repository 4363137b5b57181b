"""SIGA referrals and their TMRG deadlines, on the real servers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from rse_shared.contracts import ReferralRegistered, ReferralStatusChanged
from rse_shared.testing import TokenMint, eventually

from .conftest import DOCTOR, NOW, Clock, World, assert_problem

pytestmark = pytest.mark.integration


async def refer(
    client: httpx.AsyncClient, mint: TokenMint, citizen: object, priority: str
) -> dict[str, Any]:
    response = await client.post(
        "/referrals",
        headers=mint.professional(*DOCTOR),
        json={
            "citizen_id": str(citizen),
            "specialty": "Cardiologia",
            "hospital": "Hospital de Santa Maria",
            "priority": priority,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_unscheduled_referral_is_flagged_when_the_clock_passes_its_deadline(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    clock: Clock,
) -> None:
    citizen = await world.citizen()
    referral = await refer(client, mint, citizen, "very_urgent")
    assert referral["deadline"] == (NOW.date() + timedelta(days=30)).isoformat()
    assert referral["days_left"] == 30 and referral["tmrg_breached"] is False
    assert (await world.published(ReferralRegistered))[0].priority == "very_urgent"

    clock.now = NOW + timedelta(days=31)
    breach = (await world.published(ReferralStatusChanged))[0]
    assert breach.status == "tmrg_breached" and breach.citizen_id == citizen

    async def flagged() -> dict[str, Any] | None:
        views = (
            await client.get(f"/citizens/{citizen}/referrals", headers=mint.citizen(citizen))
        ).json()
        return views[0] if views and views[0]["tmrg_breached"] else None

    view = await eventually(flagged)
    assert view["status"] == "tmrg_breached" and view["days_left"] == 0


async def test_the_citizen_follows_a_referral_until_its_consultation(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    clock: Clock,
) -> None:
    citizen = await world.citizen()
    referral = await refer(client, mint, citizen, "priority")
    clock.now = NOW + timedelta(days=10)
    path = f"/referrals/{referral['referral_id']}/status"
    hospital = mint.hospital_staff("Hospital de Santa Maria")
    scheduled = await client.post(
        path, headers=hospital, json={"status": "scheduled", "scheduled_for": "2027-01-15"}
    )
    assert scheduled.status_code == 200 and scheduled.json()["days_left"] is None

    async def shown() -> dict[str, Any] | None:
        views = (
            await client.get(f"/citizens/{citizen}/referrals", headers=mint.citizen(citizen))
        ).json()
        return views[0] if views and views[0]["status"] == "scheduled" else None

    assert (await eventually(shown))["scheduled_for"] == "2027-01-15"
    clock.now = NOW + timedelta(days=90)  # past the deadline, but scheduled: no breach
    assert (await client.post(path, headers=hospital, json={"status": "completed"})).json()[
        "status"
    ] == "completed"
    changes = await world.published(ReferralStatusChanged, count=2)
    assert [c.status for c in changes] == ["scheduled", "completed"]
    assert_problem(await client.post(path, headers=hospital, json={"status": "cancelled"}), 409)
    assert_problem(
        await client.post(path, headers=mint.citizen(citizen), json={"status": "cancelled"}), 403
    )


async def refused_to_strangers(
    client: httpx.AsyncClient, mint: TokenMint, path: str, scheduling: dict[str, str]
) -> None:
    """Another hospital's staff, staff naming no hospital, and the referring professional
    (who registered it, but it is the hospital's now) change nothing."""
    other_hospital = mint.hospital_staff("Hospital de São João")
    for headers, body in (
        (other_hospital, scheduling),
        (other_hospital, {"status": "completed"}),
        (mint.staff("hospital_staff"), scheduling),
        (mint.professional(*DOCTOR), scheduling),
    ):
        assert_problem(await client.post(path, headers=headers, json=body), 403)


async def test_only_the_referrals_hospital_changes_it_and_its_citizen_and_referrer_see_who(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen()
    referral = await refer(client, mint, citizen, "normal")
    path = f"/referrals/{referral['referral_id']}/status"
    scheduling = {"status": "scheduled", "scheduled_for": "2027-02-01"}
    await refused_to_strangers(client, mint, path, scheduling)
    referrer = mint.professional(*DOCTOR)

    hospital_token = mint.token("hospital_staff", hospital="Hospital de Santa Maria")
    hospital = {"Authorization": f"Bearer {hospital_token}"}
    desk = jwt.decode(hospital_token, options={"verify_signature": False})["sub"]
    scheduled = await client.post(path, headers=hospital, json=scheduling)
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    [change] = await world.published(ReferralStatusChanged)
    assert (change.changed_by, change.changed_by_role) == (desk, "hospital_staff")

    async def history_of(url: str, headers: dict[str, str]) -> list[dict[str, Any]] | None:
        views = (await client.get(url, headers=headers)).json()
        steps: list[dict[str, Any]] = views[0]["history"] if views else []
        return steps if len(steps) == 2 else None

    seen_by_citizen = await eventually(
        lambda: history_of(f"/citizens/{citizen}/referrals", mint.citizen(citizen))
    )
    seen_by_referrer = await eventually(
        lambda: history_of(f"/practitioners/{DOCTOR[0]}/referrals", referrer)
    )
    for steps in (seen_by_citizen, seen_by_referrer):
        registered, then = steps
        assert (registered["status"], registered["changed_by"]) == ("registered", DOCTOR[0])
        assert registered["changed_by_role"] == "professional"
        assert (then["status"], then["scheduled_for"]) == ("scheduled", "2027-02-01")
        assert (then["changed_by"], then["changed_by_role"]) == (desk, "hospital_staff")
