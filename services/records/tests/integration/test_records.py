"""Entries and reads over HTTP: professionals write, citizens read their own record."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from rse_shared.contracts import PrescriptionIssued, RecordAccessed
from rse_shared.testing import TokenMint, eventually

from .conftest import World, assert_problem

pytestmark = pytest.mark.integration

TODAY = date.today()


async def fill(
    client: httpx.AsyncClient, doctor: dict[str, str], citizen: uuid.UUID
) -> dict[str, Any]:
    """A record with one entry of every kind, written by a professional."""
    base = f"/records/{citizen}"
    ok = [
        await client.post(
            f"{base}/health-summary/allergies", headers=doctor, json={"allergy": "Penicilina"}
        ),
        await client.post(
            f"{base}/health-summary/chronic-conditions",
            headers=doctor,
            json={"condition": "Diabetes tipo 2"},
        ),
    ]
    medication = await client.post(
        f"{base}/health-summary/medications",
        headers=doctor,
        json={"name": "Metformina", "dosage": "500 mg 2x/dia"},
    )
    medication_id = medication.json()["medication_id"]
    ok.append(
        await client.put(
            f"{base}/health-summary/medications/{medication_id}",
            headers=doctor,
            json={"name": "Metformina", "dosage": "850 mg 2x/dia"},
        )
    )
    vaccination = await client.post(
        f"{base}/vaccinations",
        headers=doctor,
        json={
            "vaccine": "Tétano e difteria",
            "dose_number": 1,
            "administered_on": TODAY.isoformat(),
            "lot": "TD-2211",
        },
    )
    ok.append(
        await client.put(
            f"{base}/care-plan",
            headers=doctor,
            json={
                "goals": ["HbA1c abaixo de 7%"],
                "interventions": ["Consulta de enfermagem"],
                "responsible_professional": "P-1",
                "next_review": (TODAY + timedelta(days=90)).isoformat(),
            },
        )
    )
    prescription = await client.post(
        f"{base}/prescriptions",
        headers=doctor,
        json={
            "items": [
                {
                    "medication_id": medication_id,
                    "name": "Metformina",
                    "dosage": "850 mg",
                    "packs": 2,
                }
            ],
            "valid_until": (TODAY + timedelta(days=60)).isoformat(),
        },
    )
    assert [r.status_code for r in ok] == [204, 204, 204, 204], [r.text for r in ok]
    assert [r.status_code for r in (medication, vaccination, prescription)] == [201] * 3
    return {"medication_id": medication_id, "prescription": prescription.json()}


async def whole_record(
    client: httpx.AsyncClient, mint: TokenMint, citizen: uuid.UUID
) -> dict[str, Any]:
    async def complete() -> dict[str, Any] | None:
        response = await client.get(f"/records/{citizen}", headers=mint.citizen(citizen))
        assert response.status_code == 200, response.text
        record: dict[str, Any] = response.json()
        return record if record["prescriptions"] and record["care_plan"] else None

    return await eventually(complete)


async def test_a_citizen_reads_their_whole_record_with_prescription_codes(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    written = await fill(client, mint.professional("P-1", "USF Tejo"), citizen)
    record = await whole_record(client, mint, citizen)
    summary = record["health_summary"]
    assert summary["allergies"] == ["Penicilina"]
    assert summary["chronic_conditions"] == ["Diabetes tipo 2"]
    assert summary["chronic_medications"] == [
        {"medication_id": written["medication_id"], "name": "Metformina", "dosage": "850 mg 2x/dia"}
    ]
    [vaccination] = record["vaccinations"]
    assert vaccination["health_unit"] == "USF Tejo" and vaccination["recorded_by"] == "P-1"
    assert record["care_plan"]["goals"] == ["HbA1c abaixo de 7%"]
    [prescription] = record["prescriptions"]
    assert prescription["prescription_number"] == written["prescription"]["prescription_number"]
    assert len(prescription["codes"]["access_code"]) == 6
    assert len(prescription["codes"]["choice_code"]) == 4
    own = await client.get(f"/records/{citizen}/prescriptions", headers=mint.citizen(citizen))
    assert own.status_code == 200 and len(own.json()) == 1


async def test_a_citizen_cannot_read_another_citizens_record(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    intruder = mint.citizen(uuid.uuid4())
    for path in ("", "/vaccinations", "/health-summary", "/prescriptions", "/accesses"):
        assert_problem(await client.get(f"/records/{citizen}{path}", headers=intruder), 403)


async def test_prescription_codes_never_reach_a_professional_nor_kafka(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    doctor = mint.professional("P-1", "USF Tejo")
    written = await fill(client, doctor, citizen)
    assert set(written["prescription"]) == {"prescription_id", "prescription_number"}
    codes = (await whole_record(client, mint, citizen))["prescriptions"][0]["codes"]
    await world.grant(citizen, ("prescriptions",))
    seen = await client.get(f"/records/{citizen}/prescriptions", headers=doctor)
    assert seen.status_code == 200 and len(seen.json()) == 1
    assert "codes" not in seen.json()[0] and "code" not in seen.text.replace("prescription", "")
    [issued] = await world.published(PrescriptionIssued, 1)
    wire = issued.to_wire()
    assert not {k for k in wire if "code" in k}
    assert codes["access_code"] not in {str(v) for v in wire.values()}
    assert codes["choice_code"] not in {str(v) for v in wire.values()}


async def test_the_citizen_sees_who_read_their_record(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    await client.get(
        f"/records/{citizen}/vaccinations", headers=mint.professional("P-1", "USF Tejo")
    )
    await client.get(f"/records/{citizen}/vaccinations", headers=mint.citizen(citizen))

    async def logged() -> list[dict[str, Any]] | None:
        response = await client.get(f"/records/{citizen}/accesses", headers=mint.citizen(citizen))
        accesses: list[dict[str, Any]] = response.json()
        return accesses or None

    [access] = await eventually(logged)  # the citizen's own read is not an access
    assert (access["practitioner_id"], access["decision"]) == ("P-1", "deny")
    audited = await client.get(f"/records/{citizen}/accesses", headers=mint.staff("auditor"))
    assert audited.status_code == 200 and len(audited.json()) == 1
    assert len(await world.published(RecordAccessed, 1)) == 1


async def test_entries_are_for_professionals_and_known_records(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    allergy = {"allergy": "Pólen"}
    as_citizen = await client.post(
        f"/records/{citizen}/health-summary/allergies", headers=mint.citizen(citizen), json=allergy
    )
    assert_problem(as_citizen, 403)
    # No care relationship with a citizen records does not know: refused, not "not found".
    unknown = await client.post(
        f"/records/{uuid.uuid4()}/health-summary/allergies",
        headers=mint.professional("P-1", "USF Tejo"),
        json=allergy,
    )
    assert_problem(unknown, 403)
    missing = await client.put(
        f"/records/{citizen}/health-summary/medications/nope",
        headers=mint.professional("P-1", "USF Tejo"),
        json={"name": "X", "dosage": "1 mg"},
    )
    assert_problem(missing, 404)


async def test_the_same_dose_twice_conflicts_for_who_may_read_the_bulletin(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.registered()
    dose = {
        "vaccine": "VASPR",
        "dose_number": 1,
        "administered_on": TODAY.isoformat(),
        "lot": "MMR-1",
        "health_unit": "USF Tejo",
    }
    doctor = mint.professional("P-1", "USF Tejo")
    assert (
        await client.post(f"/records/{citizen}/vaccinations", headers=doctor, json=dose)
    ).status_code == 201
    await world.grant(citizen, ("vaccinations",))
    assert_problem(
        await client.post(f"/records/{citizen}/vaccinations", headers=doctor, json=dose), 409
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("GET", "/records/not-a-uuid/vaccinations", None, {}),
        ("GET", "/records/{c}/vaccinations", None, {"emergency_reason": "   "}),
        ("GET", "/records/{c}/vaccinations", None, {"emergency_reason": "unconscious, no ID"}),
        ("POST", "/records/{c}/vaccinations/emergency", {"reason": "help"}, {}),
        ("POST", "/records/{c}/care-plan/emergency", {"reason": "x" * 30}, {}),
        ("POST", "/records/{c}/prescriptions/emergency", {"reason": "a b c\x00 unconscious"}, {}),
        ("GET", "/professionals/me/patients", None, {"limit": "101"}),
        ("GET", "/records/{c}/vaccinations", None, {"purpose": "marketing"}),
        ("GET", "/professionals/me/patients", None, {"limit": "0"}),
        (
            "POST",
            "/records/{c}/vaccinations",
            {"vaccine": "VASPR", "dose_number": 0, "administered_on": "2026-01-01", "lot": "L"},
            {},
        ),
        (
            "POST",
            "/records/{c}/vaccinations",
            {
                "vaccine": "VASPR",
                "dose_number": 1,
                "administered_on": "2999-01-01",
                "lot": "L",
                "health_unit": "USF Tejo",
            },
            {},
        ),
        ("POST", "/records/{c}/prescriptions", {"items": [], "valid_until": "2030-01-01"}, {}),
        (
            "POST",
            "/records/{c}/prescriptions",
            {"items": [{"name": "X", "dosage": "1 mg", "packs": 1}], "valid_until": "yesterday"},
            {},
        ),
        (
            "PUT",
            "/records/{c}/care-plan",
            {"goals": ["A"], "responsible_professional": "P-1", "surprise": True},
            {},
        ),
        ("POST", "/records/{c}/health-summary/allergies", {"allergy": ""}, {}),
    ],
)
async def test_bad_input_is_refused_with_422_problem_json(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    params: dict[str, str],
) -> None:
    citizen = await world.registered()
    response = await client.request(
        method,
        path.format(c=citizen),
        json=body,
        params=params,
        headers=mint.professional("P-1", "USF Tejo"),
    )
    assert_problem(response, 422)
