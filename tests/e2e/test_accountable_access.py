"""Accountable clinical access, end to end through Kafka: a write shows in the citizen's
history with its relationship, and an emergency read enters the auditors' queue, is reviewed,
and the citizen sees the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rse_shared.testing import eventually

from .conftest import Platform
from .flows import register_citizen, replay_equals_live, staff

pytestmark = pytest.mark.integration
REASON = "found unconscious at home, brought in by ambulance"


async def history_where(
    consent: httpx.AsyncClient, citizen: dict[str, Any], found: Any
) -> list[dict[str, Any]]:
    """The citizen's access history once `found(items)` holds."""

    async def probe() -> list[dict[str, Any]] | None:
        response = await consent.get(
            f"/citizens/{citizen['citizen_id']}/access-history", headers=citizen["auth"]
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        return items if found(items) else None

    return await eventually(probe, timeout=30)


async def test_a_write_and_a_reviewed_emergency_read_show_in_the_citizens_history(
    platform: Platform, tmp_path: Path
) -> None:
    identity, records, consent = platform["identity"], platform["records"], platform["consent"]
    identity_service = platform.services["identity"]
    citizen = await register_citizen(identity)
    cid = citizen["citizen_id"]
    operator = await staff(identity_service, identity, "operator")
    assigned = await identity.put(
        f"/citizens/{cid}/family-doctor",
        headers=operator,
        json={"practitioner_id": "P-50", "health_unit": "USF Tejo"},
    )
    assert assigned.status_code == 204, assigned.text
    doctor = await staff(
        identity_service,
        identity,
        "professional",
        practitioner_id="P-50",
        health_unit="USF Mondego",
    )

    async def written() -> bool:
        response = await records.post(
            f"/records/{cid}/health-summary/allergies", headers=doctor, json={"allergy": "Látex"}
        )
        return response.status_code == 204

    await eventually(written, timeout=30)
    [write] = [
        a
        for a in await history_where(
            consent, citizen, lambda items: any(a["decision"] == "permit" for a in items)
        )
        if a["decision"] == "permit"
    ]
    assert (write["action"], write["role"], write["actor_id"]) == ("write", "professional", "P-50")
    assert write["relationship"] == "family_doctor"
    assert write["entries"] == [{"id": "allergies/0", "kind": "allergy"}]

    stranger = await staff(
        identity_service, identity, "professional", practitioner_id="P-51", health_unit="H. Norte"
    )
    read = await records.post(
        f"/records/{cid}/health-summary/emergency", headers=stranger, json={"reason": REASON}
    )
    assert read.status_code == 200, read.text
    auditor = await staff(identity_service, identity, "auditor")

    async def queued() -> dict[str, Any] | None:
        response = await records.get("/emergency-accesses", headers=auditor)
        assert response.status_code == 200, response.text
        return next((e for e in response.json() if e["citizen_id"] == cid), None)

    emergency = await eventually(queued, timeout=30)
    review = await records.post(
        f"/emergency-accesses/{emergency['access_id']}/review",
        headers=auditor,
        json={"outcome": "unjustified", "note": "the patient was conscious and could consent"},
    )
    assert review.status_code == 204, review.text

    def reviewed(items: list[dict[str, Any]]) -> bool:
        return any(a["review"] is not None for a in items)

    [shown] = [a for a in await history_where(consent, citizen, reviewed) if a["review"]]
    assert shown["access_id"] == emergency["access_id"]
    assert (shown["decision"], shown["emergency_reason"]) == ("emergency", REASON)
    assert shown["entries"] == [{"id": "allergies/0", "kind": "allergy"}]
    assert shown["review"]["outcome"] == "unjustified"
    await replay_equals_live(platform, tmp_path)
