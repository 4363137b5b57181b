"""The records service on the real servers, fed through fresh identity and consent topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
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
)
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.testing import Kit, Upstream, a_registration, asgi_client, eventually


@pytest.fixture
async def topics(kit: Kit) -> dict[str, str]:
    return await kit.topics("records")


@pytest.fixture
def settings(kit: Kit) -> Settings:
    return kit.settings(Settings)


@pytest.fixture
async def records(kit: Kit, settings: Settings, topics: dict[str, str]) -> AsyncIterator[Service]:
    """Records with its relay, projectors and consumer running."""
    async with kit.serve(bootstrap, settings, topics, verifier=kit.mint.verifier()) as service:
        yield service


@pytest.fixture
async def client(records: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(records) as http:
        yield http


class World:
    """What identity and consent would say, produced onto their topics; and what records said."""

    def __init__(self, upstream: Upstream, records: Service) -> None:
        self.upstream = upstream
        self.topics = upstream.topics
        self.records = records

    async def registered(self, event: CitizenRegistered | None = None) -> uuid.UUID:
        """A citizen identity registered, once records shows their record."""
        event = event or a_registration()
        await self.upstream.publish("identity", event)

        async def projected() -> bool:
            return (
                await self.records.db.records.find_one({"_id": str(event.citizen_id)}) is not None
            )

        await eventually(projected)
        return event.citizen_id

    def _envelope(self, citizen_id: uuid.UUID) -> dict[str, Any]:
        return self.upstream.envelope("consent", citizen_id)

    async def grant(
        self,
        citizen_id: uuid.UUID,
        categories: tuple[str, ...],
        kind: str = "professional",
        grantee_id: str | None = "P-1",
        valid_until: datetime | None = None,
    ) -> uuid.UUID:
        """A consent granted, once records has consumed it."""
        consent_id = uuid.uuid4()
        now = datetime.now(UTC)
        await self._tell(
            ConsentGranted(
                **self._envelope(citizen_id),
                consent_id=consent_id,
                grantee_kind=kind,
                grantee_id=grantee_id,
                categories=categories,  # type: ignore[arg-type]
                purpose="treatment",
                valid_from=now - timedelta(minutes=1),
                valid_until=valid_until or now + timedelta(days=30),
            )
        )
        await self._known(citizen_id, lambda r: consent_id in r.grants)
        return consent_id

    async def revoke(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> None:
        await self._tell(
            ConsentRevoked(
                **self._envelope(citizen_id), consent_id=consent_id, revoked_at=datetime.now(UTC)
            )
        )
        await self._known(citizen_id, lambda r: consent_id in r.ended)

    async def expire(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> None:
        await self._tell(
            ConsentExpired(
                **self._envelope(citizen_id), consent_id=consent_id, expired_at=datetime.now(UTC)
            )
        )
        await self._known(citizen_id, lambda r: consent_id in r.ended)

    async def _tell(self, event: IntegrationEvent) -> None:
        await self.upstream.publish("consent", event)

    async def _known(self, citizen_id: uuid.UUID, condition: Callable[[Any], bool]) -> None:
        async def consumed() -> bool:
            register = await in_thread(self.records.app.consent_register, citizen_id)
            return register is not None and condition(register)

        await eventually(consumed)

    async def published(self, event_type: type[IntegrationEvent], count: int) -> list[Any]:
        """The events of a type records published, once there are `count` of them."""
        return await self.upstream.published("records", event_type, count)

    def record_version(self, citizen_id: uuid.UUID) -> int:
        return int(self.records.app.record(citizen_id).version)


@pytest.fixture
def world(kit: Kit, topics: dict[str, str], records: Service) -> World:
    return World(kit.upstream(topics), records)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body
