"""Concurrent commands on one aggregate, sent at once through the services' APIs.

Invariant: when N commands write the same aggregate at the same time, one wins and every
other gets a 409 problem+json — never a 500, never two winners: one citizen per SNS
number, one booking per slot, one revocation per consent. For updates that may all
apply in turn (a citizen's contacts), no update is lost: the stream's versions run 1..n,
every 2xx's change is in it, and a 409's change is not.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rse_identity.domain.citizen import Citizen
from rse_identity.domain.nif_claim import NifClaim
from rse_identity.domain.sns_claim import SnsClaim
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.testing import eventually
from tests.e2e.conftest import Platform
from tests.e2e.flows import nif_for, register_citizen, staff

pytestmark = pytest.mark.integration

N = 12


async def at_once(requests: list[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*requests))


def check_losers_conflict(answers: list[httpx.Response], *, winners: int | None = 1) -> None:
    """Exactly `winners` 2xx (any number if None); every other answer a 409 problem+json."""
    won = [a for a in answers if a.is_success]
    lost = [a for a in answers if not a.is_success]
    assert winners is None or len(won) == winners, [(a.status_code, a.text) for a in answers]
    assert won, "one command must win"
    assert [(a.status_code, a.headers["content-type"]) for a in lost] == [
        (409, "application/problem+json")
    ] * len(lost), [a.text for a in lost]


async def stream(service: Service, aggregate_id: uuid.UUID | str) -> list[Any]:
    events = await in_thread(lambda: list(service.app.events.get(uuid.UUID(str(aggregate_id)))))
    versions = [e.originator_version for e in events]
    assert versions == list(range(1, len(events) + 1)), versions
    return events


async def test_identical_registrations_make_one_citizen(platform: Platform) -> None:
    seed = uuid.uuid4().int % 10**8
    body = {
        "full_name": "Ana Sousa",
        "date_of_birth": "1990-05-17",
        "nif": nif_for(seed),
        "sns_number": f"5{seed:08d}",
        "email": "ana@example.pt",
        "phone": "+351914000000",
        "address": "Rua D, Faro",
        "password": "a long enough secret",
    }
    identity = platform["identity"]
    answers = await at_once([identity.post("/citizens", json=body) for _ in range(N)])
    check_losers_conflict(answers)
    service = platform.services["identity"]
    [winner] = [a.json()["citizen_id"] for a in answers if a.is_success]
    # The citizen id is random: the SNS and NIF claims are what every loser conflicted on.
    for aggregate_id in (
        winner,
        SnsClaim.create_id(body["sns_number"]),
        NifClaim.create_id(body["nif"]),
    ):
        assert len(await stream(service, aggregate_id)) == 1


async def test_concurrent_contact_updates_lose_nothing(platform: Platform) -> None:
    identity, service = platform["identity"], platform.services["identity"]
    citizen = await register_citizen(identity)
    emails = [f"c{i}.{uuid.uuid4().hex[:6]}@example.pt" for i in range(N)]
    answers = await at_once(
        [
            identity.patch(
                f"/citizens/{citizen['citizen_id']}/contacts",
                headers=citizen["auth"],
                json={"email": email},
            )
            for email in emails
        ]
    )
    check_losers_conflict(answers, winners=None)
    kept = [
        e.changed["email"]
        for e in await stream(service, citizen["citizen_id"])
        if isinstance(e, Citizen.PersonalDataUpdated)
    ]
    won = [email for email, a in zip(emails, answers, strict=True) if a.is_success]
    assert sorted(kept) == sorted(won)


async def test_concurrent_revocations_revoke_once(platform: Platform) -> None:
    citizen = await register_citizen(platform["identity"])
    consent, cid = platform["consent"], citizen["citizen_id"]
    granted = await consent.post(
        f"/citizens/{cid}/consents",
        headers=citizen["auth"],
        json={"grantee": {"kind": "professional", "id": "P-7"}, "categories": ["vaccinations"]},
    )
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["consent_id"]
    answers = await at_once(
        [
            consent.post(
                f"/citizens/{cid}/consents/{consent_id}/revocation", headers=citizen["auth"]
            )
            for _ in range(N)
        ]
    )
    check_losers_conflict(answers)
    events = await stream(platform.services["consent"], consent_id)
    assert [type(e).__name__ for e in events] == ["Granted", "Revoked"]


async def test_many_citizens_booking_one_slot_make_one_appointment(platform: Platform) -> None:
    identity, requests = platform["identity"], platform["requests"]
    practitioner = f"P-{uuid.uuid4().hex[:8]}"
    doctor = await staff(
        platform.services["identity"],
        identity,
        "professional",
        practitioner_id=practitioner,
        health_unit="USF Mondego",
    )
    operator = await staff(platform.services["identity"], identity, "operator")
    citizens = [await register_citizen(identity) for _ in range(N)]
    for citizen in citizens:
        assigned = await identity.put(
            f"/citizens/{citizen['citizen_id']}/family-doctor",
            headers=operator,
            json={"practitioner_id": practitioner, "health_unit": "USF Mondego"},
        )
        assert assigned.status_code == 204
    starts = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    opened = await requests.post(
        f"/practitioners/{practitioner}/slots",
        headers=doctor,
        json={"starts_at": starts.isoformat()},
    )
    assert opened.status_code == 201, opened.text
    slot_id = opened.json()["slot_id"]
    for citizen in citizens:

        async def offered(c: dict[str, Any] = citizen) -> bool:
            response = await requests.get(f"/citizens/{c['citizen_id']}/slots", headers=c["auth"])
            return response.status_code == 200 and bool(response.json())

        await eventually(offered)

    answers = await at_once(
        [
            requests.post(
                f"/citizens/{c['citizen_id']}/appointments",
                headers=c["auth"],
                json={"slot_id": slot_id},
            )
            for c in citizens
        ]
    )
    check_losers_conflict(answers)
    events = await stream(platform.services["requests"], slot_id)
    assert [type(e).__name__ for e in events].count("Booked") == 1, events
