"""The records service on the real servers, fed through fresh identity and consent topics."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rse_records.bootstrap import bootstrap
from rse_records.config import Settings
from rse_shared.contracts import (
    CitizenRegistered,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    IntegrationEvent,
    parse_event,
)
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    TokenMint,
    a_registration,
    asgi_client,
    documents,
    eventually,
    publish,
    read_topic,
    running,
)


@pytest.fixture
async def topics(new_topic: Callable[[str], Awaitable[str]]) -> dict[str, str]:
    return {name: await new_topic(name) for name in ("identity", "consent", "records")}


@pytest.fixture
def settings(infra: ServiceSettings, fresh_database: str, fresh_mongo: str) -> Settings:
    return Settings(environment="test", postgres_db=fresh_database, mongo_db=fresh_mongo,
                    consumer_group=fresh_database, relay_poll_interval=0.05)


@pytest.fixture
async def records(settings: Settings, topics: dict[str, str],
                  mint: TokenMint) -> AsyncIterator[Service]:
    """Records with its relay, projectors and consumer running."""
    service = bootstrap(settings, topic=topics["records"], consumes=[topics["identity"],
                        topics["consent"]], verifier=mint.verifier())
    async with running(service):
        yield service


@pytest.fixture
async def client(records: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(records) as http:
        yield http


class World:
    """What identity and consent would say, produced onto their topics; and what records said."""

    def __init__(self, infra: ServiceSettings, topics: dict[str, str], records: Service) -> None:
        self.bootstrap = infra.kafka_bootstrap
        self.topics = topics
        self.records = records
        self.positions: dict[uuid.UUID, int] = defaultdict(int)

    async def registered(self, event: CitizenRegistered | None = None) -> uuid.UUID:
        """A citizen identity registered, once records shows their record."""
        event = event or a_registration()
        await publish(self.bootstrap, self.topics["identity"], event)

        async def projected() -> bool:
            return await self.records.db.records.find_one({"_id": str(event.citizen_id)}) \
                is not None
        await eventually(projected)
        return event.citizen_id

    def _envelope(self, citizen_id: uuid.UUID) -> dict[str, Any]:
        # Each citizen's consent events carry rising positions, as the consent relay's would.
        self.positions[citizen_id] += 1
        return {"event_id": uuid.uuid4(), "occurred_at": datetime.now(UTC),
                "producer": "consent", "citizen_id": citizen_id,
                "source_position": self.positions[citizen_id]}

    async def grant(self, citizen_id: uuid.UUID, categories: tuple[str, ...],
                    kind: str = "professional", grantee_id: str | None = "P-1",
                    valid_until: datetime | None = None) -> uuid.UUID:
        """A consent granted, once records has consumed it."""
        consent_id = uuid.uuid4()
        now = datetime.now(UTC)
        await self._tell(ConsentGranted(
            **self._envelope(citizen_id), consent_id=consent_id,
            grantee_kind=kind, grantee_id=grantee_id, categories=categories,  # type: ignore[arg-type]
            purpose="treatment", valid_from=now - timedelta(minutes=1),
            valid_until=valid_until or now + timedelta(days=30)))
        await self._known(citizen_id, lambda r: consent_id in r.grants)
        return consent_id

    async def revoke(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> None:
        await self._tell(ConsentRevoked(**self._envelope(citizen_id), consent_id=consent_id,
                                        revoked_at=datetime.now(UTC)))
        await self._known(citizen_id, lambda r: consent_id in r.ended)

    async def expire(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> None:
        await self._tell(ConsentExpired(**self._envelope(citizen_id), consent_id=consent_id,
                                        expired_at=datetime.now(UTC)))
        await self._known(citizen_id, lambda r: consent_id in r.ended)

    async def _tell(self, event: IntegrationEvent) -> None:
        await publish(self.bootstrap, self.topics["consent"], event)

    async def _known(self, citizen_id: uuid.UUID, condition: Callable[[Any], bool]) -> None:
        async def consumed() -> bool:
            register = await in_thread(self.records.app.consent_register, citizen_id)
            return register is not None and condition(register)
        await eventually(consumed)

    async def published(self, event_type: type[IntegrationEvent],
                        count: int) -> list[Any]:
        """The events of a type records published, once there are `count` of them."""
        async def probe() -> list[Any] | None:
            found = await self._read(event_type)
            return found if len(found) >= count else None
        await eventually(probe)
        await asyncio.sleep(0.5)  # anything beyond `count` would have been relayed by now
        return await self._read(event_type)

    async def _read(self, event_type: type[IntegrationEvent]) -> list[Any]:
        records = await read_topic(self.bootstrap, self.topics["records"], timeout=2)
        return [e for e in map(parse_event, documents(records)) if isinstance(e, event_type)]

    def record_version(self, citizen_id: uuid.UUID) -> int:
        return int(self.records.app.record(citizen_id).version)


@pytest.fixture
def world(infra: ServiceSettings, topics: dict[str, str], records: Service) -> World:
    return World(infra, topics, records)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body
