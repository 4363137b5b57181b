"""Bad input is refused with 422 problem+json, never 500."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rse_shared.testing import TokenMint

from .conftest import DOCTOR, World, assert_problem

pytestmark = pytest.mark.integration

CASES: list[tuple[str, str, Any]] = [
    ("citizen", "/citizens/{c}/appointments", {"slot_id": "not-a-uuid"}),
    ("citizen", "/citizens/{c}/appointments", {"slot_id": str(uuid.uuid4()), "extra": 1}),
    ("citizen", "/citizens/{c}/appointments", ["a list"]),
    ("citizen", "/citizens/{c}/renewals", {"medication_ids": []}),
    ("citizen", "/citizens/{c}/renewals", {"medication_ids": ["M1", "M1"]}),
    ("citizen", "/citizens/{c}/appointments/nope/cancellation", {}),
    ("doctor", "/practitioners/P-100/slots", {"starts_at": "2026-12-05T10:00:00"}),
    (
        "doctor",
        "/practitioners/P-100/slots",
        {"starts_at": "2026-12-05T10:00:00Z", "duration_minutes": 0},
    ),
    ("doctor", "/practitioners/P-100/slots", {"starts_at": "2026-11-01T10:00:00Z"}),
    ("doctor", "/practitioners/P-100/renewals/{r}/decision", {"decision": "approved"}),
    (
        "doctor",
        "/practitioners/P-100/renewals/{r}/decision",
        {
            "decision": "approved",
            "valid_until": "2027-01-01",
            "items": [{"medication_id": "M1", "packs": 99}],
        },
    ),
    ("doctor", "/practitioners/P-100/renewals/{r}/decision", {"decision": "rejected"}),
    ("doctor", "/practitioners/P-100/renewals/{r}/decision", {"decision": "maybe"}),
    (
        "doctor",
        "/referrals",
        {
            "citizen_id": "{c}",
            "specialty": "Cardiologia",
            "hospital": "HSM",
            "priority": "whenever",
        },
    ),
    ("hospital", "/referrals/{r}/status", {"status": "scheduled"}),
    ("hospital", "/referrals/{r}/status", {"status": "lost"}),
]


@pytest.mark.parametrize(("who", "path", "body"), CASES)
async def test_bad_input_is_refused_with_422_problem_json(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
    who: str,
    path: str,
    body: Any,
) -> None:
    citizen = uuid.uuid4()
    headers = {
        "citizen": mint.citizen(citizen),
        "doctor": mint.professional(*DOCTOR),
        "hospital": mint.hospital_staff("HSM"),
    }[who]
    if isinstance(body, dict):
        body = {
            k: v.replace("{c}", str(citizen)) if isinstance(v, str) else v for k, v in body.items()
        }
    url = path.replace("{c}", str(citizen)).replace("{r}", str(uuid.uuid4()))
    problem = assert_problem(await client.post(url, json=body, headers=headers), 422)
    assert problem["title"] == "Unprocessable Content" or problem["detail"]


async def test_unknown_things_are_404_and_no_token_is_401(
    world: World,
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = await world.citizen()
    missing = uuid.uuid4()
    assert_problem(
        await client.post(
            f"/citizens/{citizen}/appointments",
            json={"slot_id": str(missing)},
            headers=mint.citizen(citizen),
        ),
        404,
    )
    assert_problem(
        await client.get(f"/citizens/{citizen}/renewals/{missing}", headers=mint.citizen(citizen)),
        404,
    )
    assert_problem(
        await client.post(
            f"/referrals/{missing}/status",
            json={"status": "completed"},
            headers=mint.hospital_staff("HSM"),
        ),
        404,
    )
    assert_problem(await client.get(f"/citizens/{citizen}/referrals"), 401)
