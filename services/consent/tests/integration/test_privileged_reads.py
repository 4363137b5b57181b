"""Staff reads in the citizen's history: auditors state a purpose and are recorded before
they see anything; operators' reads of personal data arrive from identity's topic."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest
from psycopg import OperationalError

from rse_shared.service import Service
from rse_shared.testing import Kit, TokenMint, Upstream

from ..builders import a_personal_data_read
from .conftest import assert_problem, listed
from .test_consents import grant

pytestmark = pytest.mark.integration

WHY = "yearly audit of the consents of the region"


def history(citizen: uuid.UUID) -> str:
    return f"/citizens/{citizen}/access-history"


def staff_reads(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["role"] in ("operator", "auditor")]


def subject_of(headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def showing(count: int) -> Any:
    return lambda items: len(staff_reads(items)) >= count


async def test_an_auditor_reading_consents_or_history_without_a_purpose_gets_422_and_no_data(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    ana = uuid.uuid4()
    await grant(client, mint, ana)
    auditor = mint.staff("auditor")
    for path in ("consents", "consents/fhir", "access-history"):
        for params in ({}, {"purpose": "why"}, {"purpose": " " * 12}):
            refused = await client.get(f"/citizens/{ana}/{path}", headers=auditor, params=params)
            assert_problem(refused, 422)
            assert "consent_id" not in refused.text
    own = (await client.get(history(ana), headers=mint.citizen(ana))).json()
    assert staff_reads(own) == []  # the refused reads left nothing to show


async def test_an_auditors_reads_show_in_the_history_with_who_why_and_what(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    ana = uuid.uuid4()
    consent_id = (await grant(client, mint, ana))["consent_id"]
    await listed(client, f"/citizens/{ana}/consents", mint.citizen(ana), bool)
    auditor = mint.staff("auditor")
    listed_consents = await client.get(
        f"/citizens/{ana}/consents", headers=auditor, params={"purpose": WHY}
    )
    assert listed_consents.status_code == 200 and len(listed_consents.json()) == 1
    [read] = staff_reads(await listed(client, history(ana), mint.citizen(ana), showing(1)))
    assert (read["action"], read["role"], read["purpose"]) == ("read", "auditor", WHY)
    assert read["actor_id"] == subject_of(auditor) and read["practitioner_id"] is None
    assert read["entries"] == [{"id": consent_id, "kind": "consent"}]
    assert read["categories"] == []

    seen = await client.get(history(ana), headers=auditor, params={"purpose": WHY})
    assert seen.status_code == 200
    reads = staff_reads(await listed(client, history(ana), mint.citizen(ana), showing(2)))
    # The test's clock stands still: both reads share an instant, so find it by what it saw.
    [of_history] = [r for r in reads if r["access_id"] != read["access_id"]]
    assert of_history["entries"] == [{"id": read["access_id"], "kind": "access"}]
    assert of_history["role"] == "auditor" and of_history["purpose"] == WHY


async def test_the_citizens_own_reads_need_no_purpose_and_are_not_recorded(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    ana = uuid.uuid4()
    await grant(client, mint, ana)
    for path in ("consents", "consents/fhir", "access-history"):
        own = await client.get(f"/citizens/{ana}/{path}", headers=mint.citizen(ana))
        assert own.status_code == 200, own.text
    marker = await client.get(history(ana), headers=mint.staff("auditor"), params={"purpose": WHY})
    assert marker.status_code == 200
    [only] = staff_reads(await listed(client, history(ana), mint.citizen(ana), showing(1)))
    assert only["role"] == "auditor"


async def test_if_the_read_cannot_be_recorded_the_auditor_sees_nothing(
    client: httpx.AsyncClient, mint: TokenMint, consent: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = uuid.uuid4()
    await grant(client, mint, ana)

    def store_down(*_: Any) -> uuid.UUID:
        raise OperationalError("the event store is not answering")

    monkeypatch.setattr(consent.app, "record_privileged_read", store_down)
    refused = await client.get(
        f"/citizens/{ana}/consents", headers=mint.staff("auditor"), params={"purpose": WHY}
    )
    assert_problem(refused, 503)
    assert "consent_id" not in refused.text


async def test_an_operators_read_reported_by_identity_shows_in_the_history(
    client: httpx.AsyncClient, mint: TokenMint, kit: Kit, topics: dict[str, str]
) -> None:
    ana = uuid.uuid4()
    upstream: Upstream = kit.upstream(topics)
    read = a_personal_data_read(ana, upstream.next_position("identity", ana))
    await upstream.publish("identity", read)
    await upstream.publish("identity", read)  # redelivered: one entry all the same
    [entry] = staff_reads(await listed(client, history(ana), mint.citizen(ana), showing(1)))
    assert entry["access_id"] == str(read.read_id)
    assert (entry["action"], entry["role"], entry["actor_id"]) == (
        "read",
        "operator",
        read.actor_id,
    )
    assert entry["purpose"] == read.purpose
    assert entry["entries"] == [{"id": str(ana), "kind": "personal_data"}]
