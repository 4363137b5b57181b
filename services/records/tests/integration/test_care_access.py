"""Accountable access over HTTP on the real servers: care relationships decide writes, every
write is an access, break-the-glass in a body within a quota, and the auditors' review."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from rse_records.bootstrap import bootstrap
from rse_records.config import Settings
from rse_records.emergency_queue import refresh_emergency_metrics
from rse_shared.contracts import (
    CitizenDeregistered,
    EmergencyAccessReviewed,
    EmergencyQuotaExceeded,
    RecordAccessed,
)
from rse_shared.metrics import EMERGENCIES_OLDEST_UNREVIEWED, EMERGENCIES_UNREVIEWED
from rse_shared.service import Service
from rse_shared.status import review_backlog
from rse_shared.testing import Kit, TokenMint, asgi_client, eventually

from .conftest import EMERGENCY, World, assert_problem, signed_in

pytestmark = pytest.mark.integration

ALLERGY = {"allergy": "Penicilina"}


def allergies(citizen: uuid.UUID) -> str:
    return f"/records/{citizen}/health-summary/allergies"


async def closed_citizen(world: World) -> uuid.UUID:
    citizen = await world.registered()
    await world.upstream.publish(
        "identity",
        CitizenDeregistered(
            **{**world.upstream.envelope("identity", citizen), "source_position": 3},
            reason="death",
            effective_date=date.today(),
        ),
    )

    async def closed() -> bool:
        doc = await world.records.db.records.find_one({"_id": str(citizen)})
        return doc is not None and doc["status"] == "closed"

    await eventually(closed)
    return citizen


async def test_a_stranger_gets_one_answer_for_an_open_a_closed_and_a_missing_record(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    stranger = mint.professional("P-9", "USF Longe")
    open_record, closed = await world.registered(), await closed_citizen(world)
    answers = [
        await client.post(allergies(c), headers=stranger, json=ALLERGY)
        for c in (open_record, closed, uuid.uuid4())
    ]
    bodies = [assert_problem(a, 403) for a in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    assert {a.headers["content-length"] for a in answers} == {answers[0].headers["content-length"]}
    # The family doctor, who has a relationship, is told the record is closed.
    doctor = mint.professional("P-1", "USF Tejo")
    assert_problem(await client.post(allergies(closed), headers=doctor, json=ALLERGY), 409)


async def test_the_unit_a_consent_and_an_emergency_let_a_professional_write(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    citizen = await world.registered()
    colleague = mint.professional("P-2", "USF Tejo")
    assert (
        await client.post(allergies(citizen), headers=colleague, json=ALLERGY)
    ).status_code == 204
    named = mint.professional("P-7", "USF Longe")
    dose = {"vaccine": "VASPR", "dose_number": 1, "administered_on": "2026-01-05", "lot": "L-1"}
    vaccinations = f"/records/{citizen}/vaccinations"
    assert_problem(await client.post(vaccinations, headers=named, json=dose), 403)
    await world.grant(citizen, ("vaccinations",), grantee_id="P-7")
    assert (await client.post(vaccinations, headers=named, json=dose)).status_code == 201
    emergency = {"allergy": "Látex", "emergency_reason": EMERGENCY}
    refused = await client.post(
        allergies(citizen), headers=mint.professional("P-8", "H"), json=emergency
    )
    assert_problem(refused, 403)  # a token that does not say how its session signed in
    written = await client.post(
        allergies(citizen), headers=signed_in(mint, "P-8", "H"), json=emergency
    )
    assert written.status_code == 204, written.text
    accessed = await world.published(RecordAccessed, 4)
    writes = [a for a in accessed if a.action == "write" and a.decision != "deny"]
    assert sorted((a.actor_id, a.relationship) for a in writes) == [
        ("P-2", "health_unit"),
        ("P-7", "consent"),
        ("P-8", "emergency"),
    ]


async def test_writes_and_reads_name_their_entries_in_the_records_access_log(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    citizen = await world.registered()
    doctor = mint.professional("P-1", "USF Tejo")
    assert (await client.post(allergies(citizen), headers=doctor, json=ALLERGY)).status_code == 204
    await world.grant(citizen, ("health_summary",))

    async def summary_shown() -> bool:
        doc = await world.records.db.records.find_one({"_id": str(citizen)})
        return doc is not None and doc["health_summary"]["allergies"] == ["Penicilina"]

    await eventually(summary_shown)
    read = await client.get(f"/records/{citizen}/health-summary", headers=doctor)
    assert read.status_code == 200

    async def logged() -> list[dict[str, Any]] | None:
        response = await client.get(f"/records/{citizen}/accesses", headers=mint.citizen(citizen))
        found: list[dict[str, Any]] = response.json()
        return found if len(found) == 2 else None

    by_action = {a["action"]: a for a in await eventually(logged)}
    assert by_action["write"]["relationship"] == "family_doctor"
    assert by_action["write"]["entries"] == [{"id": "allergies/0", "kind": "allergy"}]
    assert by_action["read"]["entries"] == [{"id": "allergies/0", "kind": "allergy"}]
    assert "Penicilina" not in str(by_action)


async def test_a_dose_on_the_bulletin_is_not_revealed_to_a_writer_who_cannot_read_it(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    citizen = await world.registered()
    dose = {"vaccine": "VASPR", "dose_number": 1, "administered_on": "2026-01-05", "lot": "L-1"}
    doctor = mint.professional("P-1", "USF Tejo")
    given = await client.post(f"/records/{citizen}/vaccinations", headers=doctor, json=dose)
    again = await client.post(f"/records/{citizen}/vaccinations", headers=doctor, json=dose)
    assert (given.status_code, again.status_code) == (201, 201)
    assert set(again.json()) == set(given.json()) == {"vaccination_id"}


async def test_break_the_glass_takes_its_reason_in_the_body_never_in_the_url(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    citizen = await world.registered()
    headers = signed_in(mint, "P-9", "H")
    in_url = await client.get(
        f"/records/{citizen}/vaccinations", headers=headers, params={"emergency_reason": EMERGENCY}
    )
    assert_problem(in_url, 422)
    too_short = await client.post(
        f"/records/{citizen}/vaccinations/emergency", headers=headers, json={"reason": "urgent"}
    )
    assert_problem(too_short, 422)
    assert (await world.published(RecordAccessed, 0)) == []


@pytest.fixture
async def quota_records(kit: Kit, topics: dict[str, str]) -> Any:
    settings = kit.settings(Settings, emergency_daily_quota=2)
    async with kit.serve(bootstrap, settings, topics, verifier=kit.mint.verifier()) as service:
        yield service


async def test_parallel_emergencies_never_take_more_than_the_days_quota(
    kit: Kit, topics: dict[str, str], quota_records: Service, mint: TokenMint
) -> None:
    world = World(kit.upstream(topics), quota_records)
    citizen = await world.registered()
    headers = signed_in(mint, "P-9", "H")
    async with asgi_client(quota_records) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/records/{citizen}/vaccinations/emergency",
                    headers=headers,
                    json={"reason": EMERGENCY},
                )
                for _ in range(6)
            )
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 200, 429, 429, 429, 429], [a.text for a in answers]
        alerts = await world.published(EmergencyQuotaExceeded, 4)
        assert {(a.practitioner_id, a.quota) for a in alerts} == {("P-9", 2)}

        async def shown() -> list[dict[str, Any]] | None:
            response = await client.get(
                "/emergency-accesses/quota-alerts", headers=mint.staff("auditor")
            )
            found: list[dict[str, Any]] = response.json()
            return found if len(found) == 4 else None

        assert all(a["practitioner_id"] == "P-9" for a in await eventually(shown))
    emergencies = [a for a in await world.published(RecordAccessed, 2) if a.decision == "emergency"]
    assert len(emergencies) == 2


async def test_an_auditor_reviews_an_emergency_from_the_queue(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    citizen = await world.registered()
    read = await client.post(
        f"/records/{citizen}/care-plan/emergency",
        headers=signed_in(mint, "P-9", "H"),
        json={"reason": EMERGENCY},
    )
    assert_problem(read, 404)  # no care plan yet: still an emergency access, to be reviewed
    auditor = mint.staff("auditor")

    async def queued() -> list[dict[str, Any]] | None:
        response = await client.get("/emergency-accesses", headers=auditor)
        assert response.status_code == 200, response.text
        found = [e for e in response.json() if e["citizen_id"] == str(citizen)]
        return found or None

    [emergency] = await eventually(queued)
    assert (emergency["status"], emergency["emergency_reason"]) == ("unreviewed", EMERGENCY)
    # What `make status` and the Prometheus gauges show of the backlog.
    backlog = await review_backlog(world.records.settings, world.records.settings.mongo_db)
    assert backlog is not None and backlog.unreviewed == 1
    assert backlog.oldest is not None and backlog.oldest <= datetime.now(UTC)
    await refresh_emergency_metrics(world.records.db)
    assert EMERGENCIES_UNREVIEWED._value.get() == 1
    assert EMERGENCIES_OLDEST_UNREVIEWED._value.get() == backlog.oldest.timestamp()
    path = f"/emergency-accesses/{emergency['access_id']}/review"
    verdict = {"outcome": "justified", "note": "arrived unconscious, ER log confirms"}
    assert_problem(
        await client.post(path, headers=mint.professional("P-9", "H"), json=verdict), 403
    )
    assert (await client.post(path, headers=auditor, json=verdict)).status_code == 204
    assert_problem(await client.post(path, headers=auditor, json=verdict), 409)
    assert_problem(
        await client.post(
            f"/emergency-accesses/{uuid.uuid4()}/review", headers=auditor, json=verdict
        ),
        404,
    )
    [reviewed] = await world.published(EmergencyAccessReviewed, 1)
    assert (str(reviewed.access_id), reviewed.outcome) == (emergency["access_id"], "justified")
    assert reviewed.reviewed_at <= datetime.now(UTC)

    async def off_the_queue() -> bool:
        response = await client.get("/emergency-accesses", headers=auditor)
        return all(e["access_id"] != emergency["access_id"] for e in response.json())

    await eventually(off_the_queue)
    done = await client.get("/emergency-accesses", headers=auditor, params={"status": "reviewed"})
    [shown] = [e for e in done.json() if e["access_id"] == emergency["access_id"]]
    assert shown["review"]["outcome"] == "justified"


async def test_the_patient_list_leaves_out_all_sns_consents_and_is_logged(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    named = await world.registered()
    everyone = await world.registered()
    await world.grant(named, ("vaccinations",))
    await world.grant(everyone, ("vaccinations",), kind="all_sns", grantee_id=None)
    response = await client.get(
        "/professionals/me/patients",
        headers=mint.professional("P-1", "USF Tejo"),
        params={"limit": 10},
    )
    assert response.status_code == 200, response.text
    assert [p["citizen_id"] for p in response.json()] == [str(named)]
    [listing] = await world.published(RecordAccessed, 1)
    assert (listing.citizen_id, listing.action, listing.actor_id) == (named, "list", "P-1")


async def test_only_the_hospital_of_an_open_referral_writes_as_hospital_staff(
    world: World, client: httpx.AsyncClient, mint: TokenMint
) -> None:
    citizen = await world.registered()
    referral = await world.referral(citizen, "Hospital de Santa Maria")
    other = mint.hospital_staff("Hospital de São João")
    refused = await client.post(allergies(citizen), headers=other, json=ALLERGY)
    # Another hospital is a stranger: the same answer as for a record that does not exist.
    missing = await client.post(allergies(uuid.uuid4()), headers=other, json=ALLERGY)
    assert assert_problem(refused, 403) == assert_problem(missing, 403)
    staff = mint.hospital_staff("Hospital de Santa Maria")
    written = await client.post(allergies(citizen), headers=staff, json=ALLERGY)
    assert written.status_code == 204, written.text
    await world.referral_closed(citizen, referral)
    after = await client.post(allergies(citizen), headers=staff, json={"allergy": "Látex"})
    assert assert_problem(after, 403) == assert_problem(missing, 403)
    accessed = await world.published(RecordAccessed, 4)  # three refusals, one write
    ok = [
        (a.role, a.relationship) for a in accessed if a.action == "write" and a.decision != "deny"
    ]
    assert ok == [("hospital_staff", "referral_hospital")]
