"""Benefits on the real servers: identity's events in, exemption decisions out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from rse_benefits.bootstrap import bootstrap
from rse_benefits.config import Settings
from rse_benefits.domain.beneficiary import Beneficiary
from rse_shared.contracts import ExemptionDecided, ExemptionExpired
from rse_shared.contracts.identity import coming_of_age
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    Kit,
    ManualClock,
    TokenMint,
    a_registration,
    asgi_client,
    events_of,
    eventually,
    publish,
    read_topic,
)

pytestmark = pytest.mark.integration


Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 12, tzinfo=UTC))


@pytest.fixture
async def topics(kit: Kit) -> dict[str, str]:
    return await kit.topics("benefits")


@pytest.fixture
def settings(kit: Kit) -> Settings:
    return kit.settings(Settings, expiry_check_interval=0.1)


@pytest.fixture
async def benefits(
    kit: Kit, settings: Settings, topics: dict[str, str], clock: Clock
) -> AsyncIterator[Service]:
    async with kit.serve(
        bootstrap, settings, topics, verifier=kit.mint.verifier(), clock=clock
    ) as service:
        yield service


@pytest.fixture
async def client(benefits: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(benefits) as http:
        yield http


async def registered(
    infra: ServiceSettings,
    topics: dict[str, str],
    benefits: Service,
    born: date = date(1980, 5, 17),
) -> uuid.UUID:
    """A citizen registered in identity, once benefits has consumed the event."""
    event = a_registration().model_copy(update={"adult_on": coming_of_age(born)})
    await publish(infra.kafka_bootstrap, topics["identity"], event)

    async def known() -> bool:
        return await in_thread(_exists, benefits, Beneficiary.create_id(event.citizen_id))

    await eventually(known)
    return event.citizen_id


def _exists(service: Service, aggregate_id: uuid.UUID) -> bool:
    return bool(list(service.app.events.get(aggregate_id, lte=1)))


async def request(
    client: httpx.AsyncClient, mint: TokenMint, citizen: uuid.UUID, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/citizens/{citizen}/exemptions", json=body, headers=mint.citizen(citizen)
    )


async def test_a_minor_is_exempt_by_rule_and_the_decision_is_published(
    infra: ServiceSettings,
    topics: dict[str, str],
    client: httpx.AsyncClient,
    mint: TokenMint,
    benefits: Service,
) -> None:
    citizen = await registered(infra, topics, benefits, born=date(2015, 4, 2))
    response = await request(client, mint, citizen, category="minor")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "granted"

    async def exempt() -> dict[str, Any] | None:
        view = (
            await client.get(f"/citizens/{citizen}/benefits", headers=mint.citizen(citizen))
        ).json()
        return view if view["exempt_from_user_fees"] else None

    view = await eventually(exempt)
    assert view["benefits"] == ["user_fee_exemption"]
    published = events_of(await read_topic(infra.kafka_bootstrap, topics["benefits"], expect=2))
    decided = [e for e in published if isinstance(e, ExemptionDecided)]
    assert decided[0].basis == "rule" and decided[0].citizen_id == citizen


async def test_an_officer_decides_what_no_rule_can(
    infra: ServiceSettings,
    topics: dict[str, str],
    client: httpx.AsyncClient,
    mint: TokenMint,
    benefits: Service,
) -> None:
    citizen = await registered(infra, topics, benefits)
    created = await request(
        client,
        mint,
        citizen,
        category="blood_donor",
        evidence=[{"kind": "donor card", "reference": "IPST-123"}],
    )
    exemption_id = created.json()["exemption_id"]
    officer = mint.staff("benefits_officer")

    async def queued() -> bool:
        queue = (await client.get("/exemptions/pending", headers=officer)).json()
        return any(e["exemption_id"] == exemption_id for e in queue)

    await eventually(queued)
    decided = await client.post(
        f"/exemptions/{exemption_id}/decision",
        headers=officer,
        json={"decision": "granted", "valid_until": "2027-11-26", "reason": "donor card checked"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "granted"


async def test_a_granted_exemption_expires_when_its_time_comes(
    infra: ServiceSettings,
    topics: dict[str, str],
    client: httpx.AsyncClient,
    mint: TokenMint,
    benefits: Service,
    clock: Clock,
) -> None:
    citizen = await registered(infra, topics, benefits)
    granted = await request(
        client,
        mint,
        citizen,
        category="economic_insufficiency",
        household_monthly_income_per_person="400.00",
    )
    assert granted.json()["status"] == "granted"
    last_day = date.fromisoformat(granted.json()["valid_until"])
    clock.now = datetime.combine(last_day + timedelta(days=1), time(12), UTC)

    async def expired() -> list[Any] | None:
        events = events_of(await read_topic(infra.kafka_bootstrap, topics["benefits"], timeout=2))
        return [e for e in events if isinstance(e, ExemptionExpired)] or None

    assert (await eventually(expired))[0].category == "economic_insufficiency"


async def test_refusals_are_clear_4xx(
    infra: ServiceSettings,
    topics: dict[str, str],
    client: httpx.AsyncClient,
    mint: TokenMint,
    benefits: Service,
) -> None:
    citizen = await registered(infra, topics, benefits)
    other = uuid.uuid4()
    assert (
        await client.post(
            f"/citizens/{citizen}/exemptions",
            json={"category": "minor"},
            headers=mint.citizen(other),
        )
    ).status_code == 403
    assert (await client.get(f"/citizens/{citizen}/benefits")).status_code == 401
    assert (
        await request(
            client, mint, citizen, category="pregnancy", household_monthly_income_per_person="-1"
        )
    ).status_code == 422
    first = await request(client, mint, citizen, category="pregnancy")
    assert first.status_code == 201
    duplicate = await request(client, mint, citizen, category="pregnancy")
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    as_citizen = await client.post(
        f"/exemptions/{first.json()['exemption_id']}/decision",
        headers=mint.citizen(citizen),
        json={"decision": "granted", "valid_until": "2027-01-01", "reason": "self-service"},
    )
    assert as_citizen.status_code == 403
    professional = mint.professional("P-1", "USF A")
    assert (await client.get("/exemptions/pending", headers=professional)).status_code == 403
