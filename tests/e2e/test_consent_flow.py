"""Nobody reads a citizen's clinical data without their authorisation — end to end.

identity registers the citizen and the professional; records opens the record; consent
grants and revokes; records decides each read and reports it; consent shows the citizen
who accessed what; the auditor's replay of the topics equals the live history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rse_shared.testing import eventually

from .conftest import Platform
from .flows import register_citizen, replay_equals_live, staff

pytestmark = pytest.mark.integration
VACCINE = {
    "vaccine": "Tétano e difteria (Td)",
    "dose_number": 1,
    "administered_on": "2026-10-01",
    "lot": "TD-2291",
}


async def status_of(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str
) -> int:
    return (await client.get(path, headers=headers, params=params)).status_code


async def test_reads_follow_the_citizens_consent_and_every_access_is_shown_to_them(
    platform: Platform,
    tmp_path: Path,
) -> None:
    identity, records, consent = platform["identity"], platform["records"], platform["consent"]
    citizen = await register_citizen(identity)
    cid = citizen["citizen_id"]
    doctor = await staff(
        platform.services["identity"],
        identity,
        "professional",
        practitioner_id="P-42",
        health_unit="USF Tejo",
    )
    vaccinations = f"/records/{cid}/vaccinations"
    # A write needs a care relationship: P-42 becomes the citizen's family doctor.
    operator = await staff(platform.services["identity"], identity, "operator")
    assigned = await identity.put(
        f"/citizens/{cid}/family-doctor",
        headers=operator,
        json={"practitioner_id": "P-42", "health_unit": "USF Tejo"},
    )
    assert assigned.status_code == 204, assigned.text

    async def record_open() -> bool:
        response = await records.post(vaccinations, json=VACCINE, headers=doctor)
        return response.status_code == 201

    await eventually(record_open)

    assert await status_of(records, vaccinations, doctor) == 403  # no consent yet
    granted = await consent.post(
        f"/citizens/{cid}/consents",
        headers=citizen["auth"],
        json={"grantee": {"kind": "professional", "id": "P-42"}, "categories": ["vaccinations"]},
    )
    assert granted.status_code == 201, granted.text

    async def readable() -> bool:
        return await status_of(records, vaccinations, doctor) == 200

    await eventually(readable)
    assert await status_of(records, f"/records/{cid}/prescriptions", doctor) == 403

    consent_id = granted.json()["consent_id"]
    revoked = await consent.post(
        f"/citizens/{cid}/consents/{consent_id}/revocation", headers=citizen["auth"]
    )
    assert revoked.status_code in (200, 204), revoked.text

    async def denied_again() -> bool:
        return await status_of(records, vaccinations, doctor) == 403

    await eventually(denied_again)
    emergency = await records.post(
        f"{vaccinations}/emergency",
        headers=doctor,
        json={"reason": "unconscious in the emergency room, no relatives"},
    )
    assert emergency.status_code == 200, emergency.text

    async def history() -> list[dict[str, Any]] | None:
        response = await consent.get(f"/citizens/{cid}/access-history", headers=citizen["auth"])
        items = response.json()
        items = items.get("items", items) if isinstance(items, dict) else items
        decisions = {a["decision"] for a in items}
        return items if {"permit", "deny", "emergency"} <= decisions else None

    accesses = await eventually(history)
    permits = [a for a in accesses if a["decision"] == "permit" and a["action"] == "read"]
    assert all(a["consent_id"] == consent_id for a in permits)

    async def alerted() -> bool:
        inbox = (await consent.get(f"/citizens/{cid}/alerts", headers=citizen["auth"])).json()
        items = inbox.get("items", inbox) if isinstance(inbox, dict) else inbox
        return any(a["decision"] == "emergency" for a in items)

    await eventually(alerted)

    other = await register_citizen(identity)
    assert await status_of(consent, f"/citizens/{cid}/access-history", other["auth"]) == 403

    await replay_equals_live(platform, tmp_path)
