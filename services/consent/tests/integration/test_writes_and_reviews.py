"""Records' writes, listings and emergency reviews on the real servers, in the history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rse_shared.contracts import EmergencyAccessReviewed, EntryRef
from rse_shared.testing import TokenMint

from .conftest import Topics, listed

pytestmark = pytest.mark.integration


def history(citizen: uuid.UUID) -> str:
    return f"/citizens/{citizen}/access-history"


def has(count: int) -> Any:
    return lambda items: len(items) >= count


async def test_a_write_shows_who_in_which_role_what_entries_and_under_which_relationship(
    client: httpx.AsyncClient, mint: TokenMint, kafka: Topics
) -> None:
    citizen = uuid.uuid4()
    read = await kafka.accessed(citizen, entries=(EntryRef(id="v-1", kind="vaccination"),))
    written = await kafka.accessed(
        citizen,
        action="write",
        actor_id="S-7",
        role="hospital_staff",
        practitioner_id="S-7",
        health_unit="Hospital de Santa Maria",
        categories=("health_summary",),
        entries=(EntryRef(id="allergies/0", kind="allergy"),),
        relationship="referral_hospital",
        consent_id=None,
    )
    listing = await kafka.accessed(citizen, action="list", consent_id=None)
    by_id = {
        a["access_id"]: a
        for a in await listed(client, history(citizen), mint.citizen(citizen), has(3))
    }
    shown = by_id[str(written.access_id)]
    assert (shown["action"], shown["role"], shown["actor_id"]) == (
        "write",
        "hospital_staff",
        "S-7",
    )
    assert shown["entries"] == [{"id": "allergies/0", "kind": "allergy"}]
    assert (shown["relationship"], shown["review"]) == ("referral_hospital", None)
    assert by_id[str(read.access_id)]["entries"] == [{"id": "v-1", "kind": "vaccination"}]
    assert (by_id[str(read.access_id)]["action"], by_id[str(read.access_id)]["actor_id"]) == (
        "read",
        "P-100",
    )
    assert by_id[str(listing.access_id)]["action"] == "list"


async def test_an_emergency_reviewed_by_an_auditor_shows_the_outcome_in_the_history(
    client: httpx.AsyncClient, mint: TokenMint, kafka: Topics
) -> None:
    citizen = uuid.uuid4()
    emergency = await kafka.accessed(citizen, decision="emergency")
    at = datetime.now(UTC)
    review = EmergencyAccessReviewed(
        **kafka.upstream.envelope("records", citizen),
        access_id=emergency.access_id,
        outcome="justified",
        note="patient arrived unconscious, confirmed by the ER log",
        reviewed_by="auditor-1",
        reviewed_at=at,
    )
    await kafka.republish(review)
    await kafka.republish(review.model_copy(update={"source_position": 99}))  # re-published

    def reviewed(items: list[dict[str, Any]]) -> bool:
        return bool(items) and items[0]["review"] is not None

    [shown] = await listed(client, history(citizen), mint.citizen(citizen), reviewed)
    assert shown["review"]["outcome"] == "justified"
    assert shown["review"]["by"] == "auditor-1"
    assert shown["review"]["note"].startswith("patient arrived")
    assert datetime.fromisoformat(shown["review"]["at"]) == at


async def test_writes_are_alerted_as_the_citizen_chose(
    client: httpx.AsyncClient, mint: TokenMint, kafka: Topics
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    choice = await client.put(
        f"/citizens/{citizen}/alert-settings", headers=headers, json={"access_alerts": True}
    )
    assert choice.status_code == 200, choice.text
    await kafka.accessed(citizen, action="write", relationship="family_doctor", consent_id=None)
    [alert] = await listed(client, f"/citizens/{citizen}/alerts", headers, has(1))
    assert (alert["action"], alert["decision"]) == ("write", "permit")
