"""The consent service on the real servers, fed through a fresh records topic."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rse_consent.bootstrap import bootstrap
from rse_consent.config import Settings
from rse_shared.contracts import IntegrationEvent, RecordAccessed
from rse_shared.service import Service
from rse_shared.testing import Kit, ManualClock, Upstream, asgi_client, eventually

from ..builders import an_access

Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))  # starts at the real time, as tokens keep it


@pytest.fixture
async def topics(kit: Kit) -> dict[str, str]:
    return await kit.topics("consent")


@pytest.fixture
def settings(kit: Kit) -> Settings:
    return kit.settings(Settings, expiry_check_interval=0.1)


@pytest.fixture
async def consent(
    kit: Kit, settings: Settings, topics: dict[str, str], clock: Clock
) -> AsyncIterator[Service]:
    """Consent with its relay, projectors, consumer and expiry worker running."""
    async with kit.serve(
        bootstrap, settings, topics, verifier=kit.mint.verifier(), clock=clock
    ) as service:
        yield service


@pytest.fixture
async def client(consent: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(consent) as http:
        yield http


class Topics:
    """What records says on its topic, and what consent published on its own."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def accessed(self, citizen_id: uuid.UUID, **fields: Any) -> RecordAccessed:
        """A RecordAccessed produced onto the records topic, at the citizen's next position."""
        event = an_access(
            citizen_id,
            self.upstream.next_position("records", citizen_id),
            accessed_at=datetime.now(UTC),
            **fields,
        )
        await self.republish(event)
        return event

    async def republish(self, event: IntegrationEvent) -> None:
        await self.upstream.publish("records", event)

    async def published(self, event_type: type[IntegrationEvent], count: int) -> list[Any]:
        """The events of a type consent published, once there are `count` (and no more)."""
        return await self.upstream.published("consent", event_type, count)


@pytest.fixture
def kafka(kit: Kit, topics: dict[str, str]) -> Topics:
    return Topics(kit.upstream(topics))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def listed(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    condition: Callable[[list[dict[str, Any]]], bool],
) -> list[dict[str, Any]]:
    """The list at `path` once the projection shows what `condition` expects."""

    async def probe() -> list[dict[str, Any]] | None:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        return items if condition(items) else None

    return await eventually(probe)
