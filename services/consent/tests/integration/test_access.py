"""Records' RecordAccessed on the real servers: access history, alerts, who may see them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from rse_shared.contracts import AccessAlertRaised
from rse_shared.service import Service
from rse_shared.testing import TokenMint, eventually

from .conftest import Topics, assert_problem, listed

pytestmark = pytest.mark.integration


WHY = {"purpose": "checking the emergency access of 12 May"}
HISTORY_FIELDS = {
    *("access_id", "action", "role", "actor_id", "entries", "practitioner_id", "health_unit"),
    *("categories", "purpose", "emergency_reason", "decision", "consent_id", "accessed_at"),
    *("relationship", "review"),
    "on_behalf",  # null but for what a proxy did for the citizen (issue 17)
}


def history(citizen: uuid.UUID) -> str:
    return f"/citizens/{citizen}/access-history"


def inbox(citizen: uuid.UUID) -> str:
    return f"/citizens/{citizen}/alerts"


def has(count: int) -> Any:
    return lambda items: len(items) >= count


async def test_accesses_are_consumed_exactly_once_into_the_citizens_history(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    citizen = uuid.uuid4()
    permitted = await kafka.accessed(citizen)
    denied = await kafka.accessed(citizen, decision="deny", categories=("prescriptions",))
    emergency = await kafka.accessed(citizen, decision="emergency")
    await kafka.republish(permitted)  # the same message again
    await kafka.republish(denied.model_copy(update={"source_position": 9}))  # re-published
    accesses = await listed(client, history(citizen), mint.citizen(citizen), has(3))
    await asyncio.sleep(1.0)  # the duplicates had time to be (not) applied
    accesses = (await client.get(history(citizen), headers=mint.citizen(citizen))).json()
    assert len(accesses) == 3
    by_id = {a["access_id"]: a for a in accesses}
    assert by_id[str(permitted.access_id)]["consent_id"] == str(permitted.consent_id)
    assert by_id[str(denied.access_id)]["decision"] == "deny"
    assert by_id[str(denied.access_id)]["categories"] == ["prescriptions"]
    assert by_id[str(emergency.access_id)]["emergency_reason"] == emergency.emergency_reason
    assert by_id[str(permitted.access_id)]["practitioner_id"] == "P-100"


async def test_an_emergency_access_is_alerted_without_opting_in_and_can_be_marked_read(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    await kafka.accessed(citizen)
    emergency = await kafka.accessed(citizen, decision="emergency")
    await listed(client, history(citizen), headers, has(2))
    [alert] = await listed(client, inbox(citizen), headers, has(1))
    assert alert["access_id"] == str(emergency.access_id) and alert["decision"] == "emergency"
    assert alert["read"] is False
    [published] = await kafka.published(AccessAlertRaised, 1)
    assert str(published.alert_id) == alert["alert_id"]
    assert published.causation_id == emergency.event_id

    read = await client.post(f"{inbox(citizen)}/{alert['alert_id']}/read", headers=headers)
    assert read.status_code == 204

    async def unread_gone() -> bool:
        response = await client.get(inbox(citizen), params={"unread": "true"}, headers=headers)
        return response.json() == []

    await eventually(unread_gone)


async def test_an_opted_in_citizen_is_alerted_of_every_access(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    chosen = await client.put(
        f"/citizens/{citizen}/alert-settings", json={"access_alerts": True}, headers=headers
    )
    assert chosen.status_code == 200 and chosen.json() == {"access_alerts": True}

    async def opted_in() -> bool:
        response = await client.get(f"/citizens/{citizen}/alert-settings", headers=headers)
        return bool(response.json()["access_alerts"])

    await eventually(opted_in)
    await kafka.accessed(citizen)
    await kafka.accessed(citizen, decision="deny")
    alerts = await listed(client, inbox(citizen), headers, has(2))
    assert sorted(a["decision"] for a in alerts) == ["deny", "permit"]


async def test_only_the_citizen_and_auditors_see_the_history_and_only_the_citizen_alerts(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    ana, rui = uuid.uuid4(), uuid.uuid4()
    await kafka.accessed(ana, decision="emergency")
    await listed(client, history(ana), mint.citizen(ana), has(1))
    professional = mint.professional("P-100", "USF Tejo")
    for headers in (mint.citizen(rui), professional):
        assert_problem(await client.get(history(ana), headers=headers), 403)
        assert_problem(await client.get(inbox(ana), headers=headers), 403)
    assert_problem(await client.get(inbox(ana), headers=mint.staff("auditor")), 403)
    [alert] = await listed(client, inbox(ana), mint.citizen(ana), has(1))
    assert_problem(
        await client.post(f"{inbox(ana)}/{alert['alert_id']}/read", headers=mint.citizen(rui)), 403
    )
    assert_problem(
        await client.post(f"{inbox(rui)}/{alert['alert_id']}/read", headers=mint.citizen(rui)), 404
    )
    assert_problem(
        await client.put(
            f"/citizens/{ana}/alert-settings",
            json={"access_alerts": False},
            headers=mint.citizen(rui),
        ),
        403,
    )
    audited = await client.get(history(ana), headers=mint.staff("auditor"), params=WHY)
    assert audited.status_code == 200 and len(audited.json()) == 1
    assert set(audited.json()[0]) == HISTORY_FIELDS


async def test_the_history_pages_newest_first(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    sent = [await kafka.accessed(citizen) for _ in range(3)]
    await listed(client, history(citizen), headers, has(3))
    page = await client.get(history(citizen), params={"limit": 2, "offset": 1}, headers=headers)
    assert [a["access_id"] for a in page.json()] == [str(sent[1].access_id), str(sent[0].access_id)]
    assert_problem(await client.get(history(citizen), params={"limit": 0}, headers=headers), 422)


async def test_dropped_projections_rebuilt_from_the_log_equal_the_live_ones(
    consent: Service,
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    await client.put(
        f"/citizens/{citizen}/alert-settings", json={"access_alerts": True}, headers=headers
    )
    body = {"grantee": {"kind": "all_sns"}, "categories": ["all"]}
    granted = (
        await client.post(f"/citizens/{citizen}/consents", json=body, headers=headers)
    ).json()
    await client.post(
        f"/citizens/{citizen}/consents/{granted['consent_id']}/revocation", headers=headers
    )
    await kafka.accessed(citizen, decision="emergency")
    await listed(client, inbox(citizen), headers, has(1))
    await consent.workers.close()  # the projectors stop: the test drives them now
    collections = ("consents", "accesses", "alerts", "alert_preferences")

    async def snapshot() -> dict[str, list[dict[str, Any]]]:
        return {name: await consent.db[name].find().sort("_id").to_list() for name in collections}

    for projector in consent.projectors.values():
        await projector.run_once()
    live = await snapshot()
    for projector in consent.projectors.values():
        await projector.rebuild()
    assert await snapshot() == live
    assert all(live.values())
