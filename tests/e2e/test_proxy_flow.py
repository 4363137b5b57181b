"""Acting for someone, end to end through real Kafka: guardians, caregivers, their limits."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
import pytest

from rse_identity.bootstrap import end_due
from rse_shared.testing import ManualClock, eventually
from rse_shared.testing.logins import remember

from .conftest import Platform
from .flows import register_citizen
from .proxies import acting_for, appoint, born_years_ago, exchange, make_guardian, operator_of
from .test_requests_flow import with_family_doctor

pytestmark = pytest.mark.integration


async def open_slot(platform: Platform, practitioner: str, doctor: dict[str, str]) -> None:
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    opened = await platform["requests"].post(
        f"/practitioners/{practitioner}/slots",
        headers=doctor,
        json={"starts_at": starts.isoformat()},
    )
    assert opened.status_code == 201, opened.text


async def free_slot(platform: Platform, cid: str, auth: dict[str, str]) -> str:
    async def offered() -> str | None:
        response = await platform["requests"].get(f"/citizens/{cid}/slots", headers=auth)
        slots = response.json() if response.status_code == 200 else []
        return str(slots[0]["slot_id"]) if slots else None

    return await eventually(offered)


async def medication_of(platform: Platform, cid: str, doctor: dict[str, str]) -> str:
    async def added() -> str | None:
        response = await platform["records"].post(
            f"/records/{cid}/health-summary/medications",
            headers=doctor,
            json={"name": "Salbutamol", "dosage": "100 mcg SOS"},
        )
        return str(response.json()["medication_id"]) if response.status_code == 201 else None

    return await eventually(added)


async def history_of(platform: Platform, person: dict[str, Any]) -> list[dict[str, Any]]:
    response = await platform["consent"].get(
        f"/citizens/{person['citizen_id']}/access-history", headers=person["auth"]
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_a_parent_books_and_renews_for_their_child_and_the_child_s_history_shows_it(
    platform: Platform,
) -> None:
    child, doctor = await with_family_doctor(platform, date_of_birth=born_years_ago(16))
    parent = await register_citizen(platform["identity"])
    cid, pid = child["citizen_id"], child["practitioner_id"]
    relationship = await make_guardian(platform, platform["identity"], child, parent)
    as_parent = await acting_for(platform["identity"], parent, child)
    claims = jwt.decode(as_parent["Authorization"][7:], options={"verify_signature": False})
    assert claims["sub"] == cid and claims["act"] == {"sub": parent["citizen_id"]}
    assert claims["rel"] == relationship

    await open_slot(platform, pid, doctor)
    slot = await free_slot(platform, cid, as_parent)
    booked = await platform["requests"].post(
        f"/citizens/{cid}/appointments", headers=as_parent, json={"slot_id": slot}
    )
    assert booked.status_code == 201, booked.text
    medication = await medication_of(platform, cid, doctor)

    async def renewal_requested() -> dict[str, Any] | None:
        response = await platform["requests"].post(
            f"/citizens/{cid}/renewals", headers=as_parent, json={"medication_ids": [medication]}
        )
        return response.json() if response.status_code == 201 else None

    renewal = await eventually(renewal_requested)
    read = await platform["records"].get(f"/records/{cid}/vaccinations", headers=as_parent)
    assert read.status_code == 200, read.text

    async def shown() -> list[dict[str, Any]] | None:
        done = [e for e in await history_of(platform, child) if e["role"] == "proxy"]
        return done if len(done) >= 3 else None

    done = await eventually(shown)
    assert {e["on_behalf"]["did"] for e in done} == {
        "AppointmentBooked",
        "MedicationRenewalRequested",
        "RecordReadByProxy",
    }
    assert all(e["on_behalf"]["by"] == parent["citizen_id"] for e in done)
    assert all(e["on_behalf"]["on_behalf_of"] == cid for e in done)
    assert all(e["on_behalf"]["kind"] == "legal_guardian" for e in done)
    named = {ref["id"] for e in done for ref in e["entries"]}
    assert {booked.json()["appointment_id"], renewal["request_id"]} <= named
    # At 16 the child sees who acts for them; the parent, acting for the child, may not look.
    mine = await platform["identity"].get(f"/citizens/{cid}/proxies", headers=child["auth"])
    assert mine.status_code == 200, mine.text
    assert [p["proxy_id"] for p in mine.json()["represented_by"]] == [parent["citizen_id"]]
    peek = await platform["identity"].get(f"/citizens/{cid}/proxies", headers=as_parent)
    assert peek.status_code == 403


async def test_a_guardianship_ends_at_18_and_the_parent_s_next_call_is_refused(
    platform: Platform,
) -> None:
    child = await register_citizen(platform["identity"], date_of_birth=born_years_ago(17))
    parent = await register_citizen(platform["identity"])
    cid = child["citizen_id"]
    await make_guardian(platform, platform["identity"], child, parent)
    as_parent = await acting_for(platform["identity"], parent, child)

    async def allowed() -> bool:
        response = await platform["benefits"].get(f"/citizens/{cid}/exemptions", headers=as_parent)
        return response.status_code == 200

    await eventually(allowed)
    identity = platform.services["identity"]
    real_clock = identity.app.clock
    eighteenth = date.fromisoformat(born_years_ago(17)).replace(year=date.today().year + 1)
    identity.app.clock = ManualClock(datetime.combine(eighteenth, datetime.min.time(), UTC))
    try:
        assert await end_due(identity.app, identity.db) >= 1  # the scheduled sweep's one pass
        refused_again = await exchange(platform["identity"], parent["auth"], cid)
        assert refused_again.status_code == 403
    finally:
        identity.app.clock = real_clock

    # Each service learns of the end from identity's event on its own consumer: one may
    # refuse a moment before another does.
    for service, path in (("benefits", "exemptions"), ("requests", "appointments")):

        async def refused(service: str = service, path: str = path) -> bool:
            response = await platform[service].get(f"/citizens/{cid}/{path}", headers=as_parent)
            return response.status_code == 403

        await eventually(refused, timeout=15)
    ended = await platform["requests"].get(f"/citizens/{cid}/appointments", headers=as_parent)
    assert ended.status_code == 403
    assert "ended" in ended.json()["detail"]


async def test_a_caregiver_appointed_accepted_used_then_revoked_is_refused_within_seconds(
    platform: Platform,
) -> None:
    identity = platform["identity"]
    elderly = await register_citizen(identity, date_of_birth="1936-04-25")
    neighbour = await register_citizen(identity)
    appointed = await appoint(identity, elderly, neighbour, ["appointments", "exemptions"])
    assert appointed.status_code == 201, appointed.text
    relationship = appointed.json()["relationship_id"]
    early = await exchange(identity, neighbour["auth"], elderly["citizen_id"])
    assert early.status_code == 403  # not accepted yet
    accepted = await identity.post(f"/proxies/{relationship}/acceptance", headers=neighbour["auth"])
    assert accepted.status_code == 204, accepted.text
    as_neighbour = await acting_for(identity, neighbour, elderly)
    eid = elderly["citizen_id"]
    used = await platform["requests"].get(f"/citizens/{eid}/appointments", headers=as_neighbour)
    assert used.status_code == 200, used.text
    outside = await platform["requests"].get(f"/citizens/{eid}/renewals", headers=as_neighbour)
    assert outside.status_code == 403  # renewals are not among the caregiver's scopes

    revoked = await identity.post(f"/proxies/{relationship}/revocation", headers=elderly["auth"])
    assert revoked.status_code == 204, revoked.text
    started = time.monotonic()
    for service, path in (("requests", "appointments"), ("benefits", "exemptions")):

        async def refused(service: str = service, path: str = path) -> bool:
            response = await platform[service].get(f"/citizens/{eid}/{path}", headers=as_neighbour)
            return response.status_code == 403

        await eventually(refused, timeout=10)
    assert time.monotonic() - started < 10
    again = await identity.get("/citizens/me", headers=as_neighbour)
    assert again.status_code == 403  # identity itself knows at once


async def test_a_proxy_acting_for_someone_cannot_exchange_again_or_act_beyond_the_grant(
    platform: Platform,
) -> None:
    identity = platform["identity"]
    elderly = await register_citizen(identity, date_of_birth="1940-01-10")
    daughter = await register_citizen(identity)
    tomorrow = str(date.today() + timedelta(days=1))
    appointed = await appoint(identity, elderly, daughter, ["appointments"], valid_until=tomorrow)
    relationship = appointed.json()["relationship_id"]
    await identity.post(f"/proxies/{relationship}/acceptance", headers=daughter["auth"])
    token = await exchange(identity, daughter["auth"], elderly["citizen_id"])
    assert token.status_code == 200, token.text
    period_end = datetime.combine(date.fromisoformat(tomorrow), datetime.min.time(), UTC)
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] <= period_end.timestamp()  # never beyond the relationship's period
    acting = str(token.json()["access_token"])
    body = daughter["body"]
    as_daughter = remember(identity, acting, body["sns_number"], body["password"])
    chained = await exchange(identity, as_daughter, elderly["citizen_id"])
    assert chained.status_code == 403, chained.text  # acting through someone: no chains
    wider = await exchange(identity, daughter["auth"], elderly["citizen_id"], scope="renewals")
    assert wider.status_code == 403
    stranger = await register_citizen(identity)
    nobody = await exchange(identity, daughter["auth"], stranger["citizen_id"])
    assert nobody.status_code == 403
    consent = await platform["consent"].post(
        f"/citizens/{elderly['citizen_id']}/consents",
        headers=as_daughter,
        json={"grantee": {"kind": "all_sns"}, "categories": ["vaccinations"]},
    )
    assert consent.status_code == 403  # consents.manage was not granted


async def test_refused_relationships_answer_422(platform: Platform) -> None:
    identity = platform["identity"]
    adult = await register_citizen(identity)
    other = await register_citizen(identity)
    minor = await register_citizen(identity, date_of_birth=born_years_ago(8))
    of_age = await identity.post(
        "/guardianships",
        headers=await operator_of(platform),
        json={
            "minor_id": adult["citizen_id"],
            "guardian_id": other["citizen_id"],
            "documents": "x",
        },
    )
    assert of_age.status_code == 422, of_age.text
    assert of_age.headers["content-type"].startswith("application/problem+json")
    themselves = await appoint(identity, adult, adult, ["appointments"])
    assert themselves.status_code == 422, themselves.text
    child_proxy = await appoint(identity, adult, minor, ["appointments"])
    assert child_proxy.status_code == 422  # a minor acts for no one
    too_young = await identity.get(
        f"/citizens/{minor['citizen_id']}/proxies", headers=minor["auth"]
    )
    assert too_young.status_code == 403  # a minor sees who acts for them from 16
    first = await appoint(identity, adult, other, ["appointments"])
    assert first.status_code == 201
    third = await register_citizen(identity)
    chain = await appoint(identity, other, third, ["appointments"])
    assert chain.status_code == 422, chain.text  # `other` acts for `adult`: no chains
    cycle = await appoint(identity, other, adult, ["appointments"])
    assert cycle.status_code == 422
    unknown_scope = await appoint(identity, adult, third, ["everything"])
    assert unknown_scope.status_code == 422
