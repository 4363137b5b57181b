"""The services a citizen uses, end to end through real Kafka: appointments, renewals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rse_shared.testing import eventually

from .conftest import Platform
from .flows import assign_family_doctor, register_citizen, replay_equals_live

pytestmark = pytest.mark.integration


async def with_family_doctor(
    platform: Platform, **citizen: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A citizen whose family doctor (a new professional) requests already knows."""
    identity = platform["identity"]
    person = await register_citizen(identity, **citizen)
    practitioner, doctor = await assign_family_doctor(platform, person["citizen_id"])
    person["practitioner_id"] = practitioner
    return person, doctor


async def test_a_citizen_books_and_cancels_with_their_family_doctor(platform: Platform) -> None:
    citizen, doctor = await with_family_doctor(platform)
    requests, cid, pid = platform["requests"], citizen["citizen_id"], citizen["practitioner_id"]
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    opened = await requests.post(
        f"/practitioners/{pid}/slots", headers=doctor, json={"starts_at": starts.isoformat()}
    )
    assert opened.status_code == 201, opened.text

    async def offered() -> list[Any] | None:
        response = await requests.get(f"/citizens/{cid}/slots", headers=citizen["auth"])
        return response.json() if response.status_code == 200 and response.json() else None

    slot = (await eventually(offered))[0]
    assert slot["user_fee"]["exempt"] is False
    booked = await requests.post(
        f"/citizens/{cid}/appointments", headers=citizen["auth"], json={"slot_id": slot["slot_id"]}
    )
    assert booked.status_code == 201, booked.text
    again = await requests.post(
        f"/citizens/{cid}/appointments", headers=citizen["auth"], json={"slot_id": slot["slot_id"]}
    )
    assert again.status_code == 409
    appointment = booked.json()["appointment_id"]
    cancelled = await requests.post(
        f"/citizens/{cid}/appointments/{appointment}/cancellation",
        headers=citizen["auth"],
        json={"reason": "cannot come"},
    )
    assert cancelled.status_code == 200, cancelled.text


async def test_a_renewal_approved_by_the_family_doctor_becomes_a_prescription(
    platform: Platform,
    tmp_path: Path,
) -> None:
    citizen, doctor = await with_family_doctor(platform)
    records, requests = platform["records"], platform["requests"]
    cid, pid = citizen["citizen_id"], citizen["practitioner_id"]

    async def medication_added() -> str | None:
        response = await records.post(
            f"/records/{cid}/health-summary/medications",
            headers=doctor,
            json={"name": "Metformina", "dosage": "850 mg 2x/dia"},
        )
        return response.json()["medication_id"] if response.status_code == 201 else None

    medication_id = await eventually(medication_added)

    async def renewal_requested() -> dict[str, Any] | None:
        response = await requests.post(
            f"/citizens/{cid}/renewals",
            headers=citizen["auth"],
            json={"medication_ids": [medication_id]},
        )
        return response.json() if response.status_code == 201 else None

    renewal = await eventually(renewal_requested)
    own = await requests.post(
        f"/practitioners/{pid}/renewals/{renewal['request_id']}/decision",
        headers=citizen["auth"],
        json={"decision": "rejected", "reason": "self-approval"},
    )
    assert own.status_code == 403
    approved = await requests.post(
        f"/practitioners/{pid}/renewals/{renewal['request_id']}/decision",
        headers=doctor,
        json={
            "decision": "approved",
            "valid_until": str(date.today() + timedelta(days=90)),
            "items": [{"medication_id": medication_id, "packs": 2}],
        },
    )
    assert approved.status_code == 200, approved.text

    async def prescribed() -> dict[str, Any] | None:
        view = (
            await requests.get(
                f"/citizens/{cid}/renewals/{renewal['request_id']}", headers=citizen["auth"]
            )
        ).json()
        return view if view["status"] == "prescribed" else None

    view = await eventually(prescribed, timeout=40)
    record = (await records.get(f"/records/{cid}", headers=citizen["auth"])).json()
    prescriptions = record["prescriptions"]
    assert [p["prescription_number"] for p in prescriptions] == [view["prescription_number"]]
    assert len(prescriptions[0]["codes"]["access_code"]) == 6  # shown to the citizen only
    assert len(prescriptions[0]["codes"]["choice_code"]) == 4
    await replay_equals_live(platform, tmp_path)


async def test_an_exempt_citizen_sees_it_where_the_fee_is_shown(
    platform: Platform, tmp_path: Path
) -> None:
    citizen, doctor = await with_family_doctor(platform, date_of_birth="2012-02-02")
    cid, pid = citizen["citizen_id"], citizen["practitioner_id"]

    async def exemption_granted() -> bool:
        response = await platform["benefits"].post(
            f"/citizens/{cid}/exemptions", json={"category": "minor"}, headers=citizen["auth"]
        )
        return response.status_code == 201

    await eventually(exemption_granted)
    starts = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    await platform["requests"].post(
        f"/practitioners/{pid}/slots", headers=doctor, json={"starts_at": starts.isoformat()}
    )

    async def shown_exempt() -> bool:
        response = await platform["requests"].get(f"/citizens/{cid}/slots", headers=citizen["auth"])
        slots = response.json() if response.status_code == 200 else []
        return bool(slots) and slots[0]["user_fee"]["exempt"] is True

    await eventually(shown_exempt, timeout=40)
    await replay_equals_live(platform, tmp_path)
