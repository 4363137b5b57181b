"""The consent service on the real servers, fed through a fresh records topic."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rse_consent.bootstrap import bootstrap
from rse_consent.config import Settings
from rse_shared.contracts import IntegrationEvent, RecordAccessed, parse_event
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    ManualClock,
    TokenMint,
    asgi_client,
    documents,
    eventually,
    publish,
    read_topic,
    running,
)

from ..builders import an_access

Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))  # starts at the real time, as tokens keep it


@pytest.fixture
async def topics(new_topic: Callable[[str], Awaitable[str]]) -> dict[str, str]:
    return {name: await new_topic(name) for name in ("records", "consent")}


@pytest.fixture
def settings(infra: ServiceSettings, fresh_database: str, fresh_mongo: str) -> Settings:
    return Settings(environment="test", postgres_db=fresh_database, mongo_db=fresh_mongo,
                    consumer_group=fresh_database, relay_poll_interval=0.05,
                    expiry_check_interval=0.1)


@pytest.fixture
async def consent(settings: Settings, topics: dict[str, str], mint: TokenMint,
                  clock: Clock) -> AsyncIterator[Service]:
    """Consent with its relay, projectors, consumer and expiry worker running."""
    service = bootstrap(settings, topic=topics["consent"], consumes=[topics["records"]],
                        verifier=mint.verifier(), clock=clock)
    async with running(service):
        yield service


@pytest.fixture
async def client(consent: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(consent) as http:
        yield http


class Topics:
    """What records says on its topic, and what consent published on its own."""

    def __init__(self, infra: ServiceSettings, topics: dict[str, str]) -> None:
        self.bootstrap = infra.kafka_bootstrap
        self.names = topics
        self.positions: dict[uuid.UUID, int] = defaultdict(int)

    async def accessed(self, citizen_id: uuid.UUID, **fields: Any) -> RecordAccessed:
        """A RecordAccessed produced onto the records topic, at the citizen's next position."""
        self.positions[citizen_id] += 1
        event = an_access(citizen_id, self.positions[citizen_id],
                          accessed_at=datetime.now(UTC), **fields)
        await self.republish(event)
        return event

    async def republish(self, event: IntegrationEvent) -> None:
        await publish(self.bootstrap, self.names["records"], event)

    async def published(self, event_type: type[IntegrationEvent], count: int) -> list[Any]:
        """The events of a type consent published, once there are `count` (and no more)."""
        async def probe() -> tuple[list[Any]] | None:
            found = await self._read(event_type)
            return (found,) if len(found) >= count else None  # a tuple: truthy even if empty
        await eventually(probe)
        await asyncio.sleep(0.5)  # anything beyond `count` would have been relayed by now
        return await self._read(event_type)

    async def _read(self, event_type: type[IntegrationEvent]) -> list[Any]:
        records = await read_topic(self.bootstrap, self.names["consent"], timeout=2)
        return [e for e in map(parse_event, documents(records)) if isinstance(e, event_type)]


@pytest.fixture
def kafka(infra: ServiceSettings, topics: dict[str, str]) -> Topics:
    return Topics(infra, topics)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def listed(client: httpx.AsyncClient, path: str, headers: dict[str, str],
                 condition: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The list at `path` once the projection shows what `condition` expects."""
    async def probe() -> list[dict[str, Any]] | None:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        return items if condition(items) else None
    return await eventually(probe)
