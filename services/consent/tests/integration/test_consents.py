"""Consents on the real servers: grant, revoke, lapse, history as of any instant, FHIR."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from rse_shared.contracts import CATEGORIES, ConsentExpired, ConsentGranted, ConsentRevoked
from rse_shared.testing import FhirValidator, TokenMint

from .conftest import Clock, Topics, assert_problem, listed

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)


def path(citizen: uuid.UUID, rest: str = "") -> str:
    return f"/citizens/{citizen}/consents{rest}"


async def grant(
    client: httpx.AsyncClient, mint: TokenMint, citizen: uuid.UUID, **body: Any
) -> dict[str, Any]:
    body = {
        "grantee": {"kind": "professional", "id": "P-100"},
        "categories": ["vaccinations"],
        **body,
    }
    response = await client.post(path(citizen), json=body, headers=mint.citizen(citizen))
    assert response.status_code == 201, response.text
    granted: dict[str, Any] = response.json()
    return granted


async def test_a_granted_consent_is_listed_and_published_with_explicit_categories(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
) -> None:
    citizen = uuid.uuid4()
    granted = await grant(client, mint, citizen, categories=["all"])
    assert granted["categories"] == list(CATEGORIES) and granted["status"] == "active"
    [consent] = await listed(client, path(citizen), mint.citizen(citizen), bool)
    assert consent["consent_id"] == granted["consent_id"] and consent["valid_until"] is None
    assert consent["grantee"] == {"kind": "professional", "id": "P-100"}
    [event] = await kafka.published(ConsentGranted, 1)
    assert event.citizen_id == citizen and event.categories == CATEGORIES
    assert str(event.consent_id) == granted["consent_id"] and event.purpose == "treatment"


async def test_a_revoked_consent_stays_in_the_history_as_it_was_before_revocation(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
    clock: Clock,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    granted_at = clock.now
    consent_id = (await grant(client, mint, citizen, grantee={"kind": "all_sns"}))["consent_id"]
    revoked_at = clock.advance(DAY)
    revoked = await client.post(path(citizen, f"/{consent_id}/revocation"), headers=headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    await listed(client, path(citizen), headers, lambda c: bool(c) and c[0]["status"] == "revoked")

    async def as_of(at: Any, **params: str) -> list[dict[str, Any]]:
        response = await client.get(
            path(citizen), headers=headers, params={"as_of": at.isoformat(), **params}
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        return items

    assert await as_of(granted_at - timedelta(microseconds=1)) == []
    [then] = await as_of(revoked_at - timedelta(microseconds=1), status="active")
    assert then["status"] == "active" and then["revoked_at"] is None
    assert await as_of(revoked_at, status="active") == []
    [now] = await as_of(revoked_at)
    assert now["status"] == "revoked"
    [event] = await kafka.published(ConsentRevoked, 1)
    assert str(event.consent_id) == consent_id and event.revoked_at == revoked_at
    again = await client.post(path(citizen, f"/{consent_id}/revocation"), headers=headers)
    assert_problem(again, 409)


async def test_the_expiry_worker_publishes_consent_expired_when_the_end_date_comes(
    client: httpx.AsyncClient,
    mint: TokenMint,
    kafka: Topics,
    clock: Clock,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    ends = clock.now + DAY
    lapsing = await grant(client, mint, citizen, valid_until=ends.isoformat())
    await grant(client, mint, citizen)  # open-ended: never lapses
    await listed(client, path(citizen), headers, lambda c: len(c) == 2)
    assert await kafka.published(ConsentExpired, 0) == []  # not due yet

    clock.advance(DAY)
    [event] = await kafka.published(ConsentExpired, 1)
    assert str(event.consent_id) == lapsing["consent_id"] and event.expired_at == ends
    consents = await listed(
        client, path(citizen), headers, lambda c: any(x["expired_at"] for x in c)
    )
    assert sorted(c["status"] for c in consents) == ["active", "expired"]
    clock.advance(DAY)
    assert len(await kafka.published(ConsentExpired, 1)) == 1  # lapsing is idempotent


async def test_the_fhir_export_is_a_valid_r4_bundle_of_consents(
    client: httpx.AsyncClient,
    mint: TokenMint,
    clock: Clock,
    fhir_validator: FhirValidator,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    await grant(
        client, mint, citizen, categories=["all"], valid_until=(clock.now + 30 * DAY).isoformat()
    )
    revoked = await grant(client, mint, citizen, grantee={"kind": "health_unit", "id": "USF Tejo"})
    await client.post(path(citizen, f"/{revoked['consent_id']}/revocation"), headers=headers)
    await listed(
        client,
        path(citizen),
        headers,
        lambda c: len(c) == 2 and any(x["status"] == "revoked" for x in c),
    )

    response = await client.get(path(citizen, "/fhir"), headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert fhir_validator.errors(response.json()) == []
    bundle = Bundle.model_validate_json(response.content)
    resources = {e.resource.id: e.resource for e in bundle.entry}
    assert resources[revoked["consent_id"]].status == "inactive"
    [active] = [r for r in resources.values() if r.status == "active"]
    assert [c.code for c in active.provision.class_fhir] == list(CATEGORIES)
    assert active.provision.purpose[0].code == "TREAT"


async def test_the_fhir_export_of_a_citizen_without_consents_is_a_valid_empty_bundle(
    client: httpx.AsyncClient, mint: TokenMint, fhir_validator: FhirValidator
) -> None:
    citizen = uuid.uuid4()
    response = await client.get(path(citizen, "/fhir"), headers=mint.citizen(citizen))
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["type"] == "collection" and "entry" not in bundle
    assert fhir_validator.errors(bundle) == []


@pytest.mark.parametrize(
    "body",
    [
        {"grantee": {"kind": "professional"}, "categories": ["vaccinations"]},
        {"grantee": {"kind": "all_sns", "id": "P-1"}, "categories": ["vaccinations"]},
        {"grantee": {"kind": "nurse", "id": "P-1"}, "categories": ["vaccinations"]},
        {"grantee": {"kind": "all_sns"}, "categories": []},
        {"grantee": {"kind": "all_sns"}, "categories": ["x-rays"]},
        {"grantee": {"kind": "all_sns"}, "categories": ["all"], "purpose": "research"},
        {"grantee": {"kind": "all_sns"}, "categories": ["all"], "valid_until": "2030-01-01T00:00"},
        {
            "grantee": {"kind": "all_sns"},
            "categories": ["all"],
            "valid_from": "2030-01-02T00:00Z",
            "valid_until": "2030-01-01T00:00Z",
        },
        {"grantee": {"kind": "all_sns"}, "categories": ["all"], "valid_from": "2001-01-01T00:00Z"},
        {"grantee": {"kind": "all_sns"}, "categories": ["all"], "extra": 1},
        {
            "grantee": {"kind": "all_sns"},
            "categories": ["all"],
            "valid_until": "9999-12-31T23:59:59-14:00",
        },
        {"grantee": {"kind": "professional", "id": "P\u0000"}, "categories": ["all"]},
    ],
)
async def test_bad_input_is_refused_with_a_422_problem(
    client: httpx.AsyncClient,
    mint: TokenMint,
    body: dict[str, Any],
) -> None:
    citizen = uuid.uuid4()
    response = await client.post(path(citizen), json=body, headers=mint.citizen(citizen))
    assert_problem(response, 422)


async def test_bad_query_and_path_values_are_422_problems(
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    citizen = uuid.uuid4()
    headers = mint.citizen(citizen)
    assert_problem(
        await client.get(path(citizen), params={"as_of": "yesterday"}, headers=headers), 422
    )
    assert_problem(
        await client.get(path(citizen), params={"as_of": "2026-01-01T00:00"}, headers=headers), 422
    )
    assert_problem(
        await client.get(path(citizen), params={"status": "maybe"}, headers=headers), 422
    )
    assert_problem(await client.post(path(citizen, "/not-a-uuid/revocation"), headers=headers), 422)


async def test_nobody_but_the_citizen_grants_or_revokes_and_only_they_or_auditors_read(
    client: httpx.AsyncClient,
    mint: TokenMint,
) -> None:
    ana, rui = uuid.uuid4(), uuid.uuid4()
    consent_id = (await grant(client, mint, ana))["consent_id"]
    await listed(client, path(ana), mint.citizen(ana), bool)
    professional = mint.professional("P-100", "USF Tejo")
    for headers in (mint.citizen(rui), professional):
        assert_problem(await client.get(path(ana), headers=headers), 403)
        assert_problem(await client.get(path(ana, "/fhir"), headers=headers), 403)
        assert_problem(await client.get(path(ana, f"/{consent_id}"), headers=headers), 403)
        assert_problem(
            await client.post(path(ana, f"/{consent_id}/revocation"), headers=headers), 403
        )
    body = {"grantee": {"kind": "all_sns"}, "categories": ["all"]}
    assert_problem(await client.post(path(ana), json=body, headers=mint.citizen(rui)), 403)
    assert_problem(await client.post(path(ana), json=body, headers=mint.staff("auditor")), 403)
    # Rui revoking Ana's consent under his own path learns nothing about it.
    assert_problem(
        await client.post(path(rui, f"/{consent_id}/revocation"), headers=mint.citizen(rui)), 404
    )
    assert_problem(await client.get(path(rui, f"/{consent_id}"), headers=mint.citizen(rui)), 404)
    assert_problem(await client.get(path(ana)), 401)
    audited = await client.get(
        path(ana), headers=mint.staff("auditor"), params={"purpose": "yearly consent audit"}
    )
    assert audited.status_code == 200 and len(audited.json()) == 1
