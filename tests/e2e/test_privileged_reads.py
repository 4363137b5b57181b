"""Staff reads of a citizen's data and hospitals' referral changes, end to end.

An operator reads personal data at identity with a stated purpose; identity publishes the
read on identity.events, consent consumes it, and the citizen sees it in their access
history beside an auditor's reads; the auditor's replay still equals the live history. A
referral registered by a professional is moved on by its hospital alone, and the citizen
and the referrer see who did it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from rse_shared.testing import eventually

from .conftest import Platform
from .flows import register_citizen, replay_equals_live, staff

pytestmark = pytest.mark.integration
HOSPITAL = "Hospital de Santa Maria"


def subject_of(headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


async def staff_reads(
    consent: httpx.AsyncClient, citizen: dict[str, Any], count: int
) -> list[dict[str, Any]]:
    """The staff reads in the citizen's history, once there are `count`."""

    async def probe() -> list[dict[str, Any]] | None:
        path = f"/citizens/{citizen['citizen_id']}/access-history"
        items = (await consent.get(path, headers=citizen["auth"])).json()
        reads = [i for i in items if i["role"] in ("operator", "auditor")]
        return reads if len(reads) >= count else None

    return await eventually(probe, timeout=30)


async def test_operator_and_auditor_reads_reach_the_citizens_history_through_kafka(
    platform: Platform, tmp_path: Path
) -> None:
    identity, consent = platform["identity"], platform["consent"]
    citizen = await register_citizen(identity)
    cid = citizen["citizen_id"]
    operator = await staff(platform.services["identity"], identity, "operator")
    auditor = await staff(platform.services["identity"], identity, "auditor")

    async def in_directory() -> bool:
        own = await identity.get(f"/citizens/{cid}", headers=citizen["auth"])
        return own.status_code == 200

    await eventually(in_directory)
    refused = await identity.get(f"/citizens/{cid}", headers=operator)
    assert refused.status_code == 422 and "full_name" not in refused.text
    why = "citizen asked the help line to confirm their address"
    read = await identity.get(f"/citizens/{cid}", headers=operator, params={"purpose": why})
    assert read.status_code == 200, read.text

    [by_operator] = await staff_reads(consent, citizen, 1)
    assert (by_operator["action"], by_operator["role"]) == ("read", "operator")
    assert (by_operator["actor_id"], by_operator["purpose"]) == (subject_of(operator), why)
    assert by_operator["entries"] == [{"id": cid, "kind": "personal_data"}]

    audit = "checking the access history after a complaint"
    assert (
        await consent.get(f"/citizens/{cid}/access-history", headers=auditor)
    ).status_code == 422
    listed = await consent.get(
        f"/citizens/{cid}/access-history", headers=auditor, params={"purpose": audit}
    )
    assert listed.status_code == 200
    reads = await staff_reads(consent, citizen, 2)
    [by_auditor] = [r for r in reads if r["role"] == "auditor"]
    assert (by_auditor["actor_id"], by_auditor["purpose"]) == (subject_of(auditor), audit)
    assert by_auditor["entries"] == [{"id": by_operator["access_id"], "kind": "access"}]
    await replay_equals_live(platform, tmp_path)


async def referred(
    requests: httpx.AsyncClient, citizen: dict[str, Any], doctor: dict[str, str]
) -> dict[str, Any]:
    """A referral to HOSPITAL, once requests knows the citizen (from identity's event)."""
    body = {
        "citizen_id": citizen["citizen_id"],
        "specialty": "Cardiologia",
        "hospital": HOSPITAL,
        "priority": "normal",
    }

    async def registered() -> dict[str, Any] | None:
        response = await requests.post("/referrals", json=body, headers=doctor)
        return response.json() if response.status_code == 201 else None

    referral: dict[str, Any] = await eventually(registered, timeout=30)
    return referral


async def test_only_the_referrals_hospital_moves_it_on_and_citizen_and_referrer_see_who(
    platform: Platform,
) -> None:
    identity, requests = platform["identity"], platform["requests"]
    citizen = await register_citizen(identity)
    practitioner_id = f"P-{uuid.uuid4().hex[:8]}"
    doctor = await staff(
        platform.services["identity"],
        identity,
        "professional",
        practitioner_id=practitioner_id,
        health_unit="USF Tejo",
    )
    ours = await staff(platform.services["identity"], identity, "hospital_staff", hospital=HOSPITAL)
    theirs = await staff(
        platform.services["identity"], identity, "hospital_staff", hospital="Hospital de São João"
    )
    referral = await referred(requests, citizen, doctor)
    path = f"/referrals/{referral['referral_id']}/status"
    scheduling = {"status": "scheduled", "scheduled_for": "2027-03-01"}
    for stranger in (theirs, doctor):
        refused = await requests.post(path, json=scheduling, headers=stranger)
        assert refused.status_code == 403, refused.text
    assert (await requests.post(path, json=scheduling, headers=ours)).status_code == 200

    async def seen(url: str, headers: dict[str, str]) -> dict[str, Any] | None:
        views = (await requests.get(url, headers=headers)).json()
        steps = views[0]["history"] if views else []
        return steps[-1] if len(steps) == 2 else None

    for url, headers in (
        (f"/citizens/{citizen['citizen_id']}/referrals", citizen["auth"]),
        (f"/practitioners/{practitioner_id}/referrals", doctor),
    ):
        step = await eventually(lambda u=url, h=headers: seen(u, h), timeout=30)
        assert (step["status"], step["changed_by_role"]) == ("scheduled", "hospital_staff")
        assert step["changed_by"] == subject_of(ours)
