"""Professional reads on the real servers: decided by consent, every one of them published."""

from __future__ import annotations

import uuid

import httpx
import pytest

from rse_shared.contracts import RecordAccessed
from rse_shared.testing import TokenMint, eventually

from .conftest import EMERGENCY, World, assert_problem, signed_in

pytestmark = pytest.mark.integration


async def read(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    citizen_id: uuid.UUID,
    category: str = "vaccinations",
    **params: str,
) -> httpx.Response:
    return await client.get(f"/records/{citizen_id}/{category}", headers=headers, params=params)


async def test_a_consent_lets_its_professional_read_the_category_and_the_read_is_published(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    consent_id = await world.grant(citizen, ("vaccinations",))
    response = await read(client, mint.professional("P-1", "USF Tejo"), citizen)
    assert response.status_code == 200, response.text
    assert response.json() == []
    [accessed] = await world.published(RecordAccessed, 1)
    assert (accessed.decision, accessed.consent_id) == ("permit", consent_id)
    assert (accessed.citizen_id, accessed.practitioner_id, accessed.health_unit) == (
        citizen,
        "P-1",
        "USF Tejo",
    )
    assert accessed.categories == ("vaccinations",) and accessed.purpose == "treatment"
    assert accessed.role == "professional" and accessed.emergency_reason is None


async def test_reads_the_consent_does_not_cover_are_refused_and_published_as_denials(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    await world.grant(citizen, ("vaccinations",))
    uncovered = await read(client, mint.professional("P-1", "USF Tejo"), citizen, "prescriptions")
    other = await read(client, mint.professional("P-2", "USF Douro"), citizen)
    nobody = await read(client, mint.professional("P-1", "USF Tejo"), uuid.uuid4())
    bodies = [assert_problem(r, 403) for r in (uncovered, other, nobody)]
    # A citizen without a record is refused exactly like one with: nothing is revealed.
    assert bodies[0] == bodies[1] == bodies[2]
    accessed = await world.published(RecordAccessed, 3)
    assert sorted(
        (a.practitioner_id, a.categories[0], a.decision, a.consent_id) for a in accessed
    ) == [
        ("P-1", "prescriptions", "deny", None),
        ("P-1", "vaccinations", "deny", None),
        ("P-2", "vaccinations", "deny", None),
    ]


async def test_a_health_unit_consent_covers_its_professionals_only(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    await world.grant(
        citizen, ("care_plan", "vaccinations"), kind="health_unit", grantee_id="USF Tejo"
    )
    assert (await read(client, mint.professional("P-5", "USF Tejo"), citizen)).status_code == 200
    assert_problem(await read(client, mint.professional("P-5", "USF Douro"), citizen), 403)


async def test_after_a_revocation_the_professional_is_refused(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    doctor = mint.professional("P-1", "USF Tejo")
    consent_id = await world.grant(citizen, ("vaccinations",))
    assert (await read(client, doctor, citizen)).status_code == 200
    await world.revoke(citizen, consent_id)
    assert_problem(await read(client, doctor, citizen), 403)
    accessed = await world.published(RecordAccessed, 2)
    assert [(a.decision, a.consent_id) for a in sorted(accessed, key=lambda a: a.accessed_at)] == [
        ("permit", consent_id),
        ("deny", None),
    ]


async def test_after_an_expiry_the_professional_is_refused(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    doctor = mint.professional("P-1", "USF Tejo")
    consent_id = await world.grant(citizen, ("health_summary",))
    assert (await read(client, doctor, citizen, "health-summary")).status_code == 200
    await world.expire(citizen, consent_id)
    assert_problem(await read(client, doctor, citizen, "health-summary"), 403)
    accessed = await world.published(RecordAccessed, 2)
    assert sorted(a.decision for a in accessed) == ["deny", "permit"]


async def test_an_emergency_read_without_consent_is_allowed_and_flagged(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    response = await client.post(
        f"/records/{citizen}/health-summary/emergency",
        headers=signed_in(mint, "P-9", "Hospital S. José"),
        json={"reason": EMERGENCY},
    )
    assert response.status_code == 200, response.text
    assert response.json()["allergies"] == []
    [accessed] = await world.published(RecordAccessed, 1)
    assert accessed.decision == "emergency" and accessed.consent_id is None
    assert accessed.emergency_reason == EMERGENCY


async def test_a_professionals_patient_list_shows_only_citizens_whose_consent_covers_them(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    mine = await world.registered()
    my_units = await world.registered()
    someone_elses = await world.registered()
    revoked = await world.registered()
    await world.grant(mine, ("vaccinations", "prescriptions"))
    await world.grant(my_units, ("care_plan",), kind="health_unit", grantee_id="USF Tejo")
    await world.grant(someone_elses, ("vaccinations",), grantee_id="P-2")
    await world.revoke(revoked, await world.grant(revoked, ("vaccinations",)))

    async def listed() -> list[dict[str, object]] | None:
        response = await client.get(
            "/professionals/me/patients", headers=mint.professional("P-1", "USF Tejo")
        )
        assert response.status_code == 200, response.text
        patients: list[dict[str, object]] = response.json()
        return patients if len(patients) == 2 else None

    patients = await eventually(listed)
    assert {(p["citizen_id"], tuple(p["categories"])) for p in patients} == {  # type: ignore[arg-type]
        (str(mine), ("prescriptions", "vaccinations")),
        (str(my_units), ("care_plan",)),
    }
    assert all(p["full_name"] == "Ana Silva" for p in patients)
    others = await client.get(
        "/professionals/me/patients", headers=mint.professional("P-3", "USF Douro")
    )
    assert others.status_code == 200 and others.json() == []


async def test_reads_need_a_token_and_a_reading_role(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    assert_problem(await client.get(f"/records/{citizen}/vaccinations"), 401)
    for role in ("auditor", "operator", "benefits_officer"):
        assert_problem(await read(client, mint.staff(role), citizen), 403)  # type: ignore[arg-type]
    assert_problem(
        await client.get(f"/records/{citizen}", headers=mint.professional("P-1", "USF Tejo")), 403
    )
