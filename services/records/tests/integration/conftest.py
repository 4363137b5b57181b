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
    FamilyDoctorAssigned,
    IntegrationEvent,
    ReferralRegistered,
    ReferralStatusChanged,
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

    async def registered(
        self,
        event: CitizenRegistered | None = None,
        doctor: tuple[str, str] | None = ("P-1", "USF Tejo"),
    ) -> uuid.UUID:
        """A citizen identity registered (with `doctor` as their family doctor, at identity's
        position 2), once records shows their record and knows the doctor."""
        event = event or a_registration()
        await self.upstream.publish("identity", event)
        if doctor is not None:
            await self.family_doctor(event.citizen_id, *doctor)

        async def projected() -> bool:
            return (
                await self.records.db.records.find_one({"_id": str(event.citizen_id)}) is not None
            )

        await eventually(projected)
        return event.citizen_id

    async def family_doctor(
        self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str, position: int = 2
    ) -> None:
        """identity assigned the citizen's family doctor, once records' care team knows."""
        await self.upstream.publish(
            "identity",
            FamilyDoctorAssigned(
                **{**self.upstream.envelope("identity", citizen_id), "source_position": position},
                practitioner_id=practitioner_id,
                health_unit=health_unit,
            ),
        )
        await self._team(citizen_id, lambda t: t.family_doctor == practitioner_id)

    async def referral(self, citizen_id: uuid.UUID, hospital: str) -> uuid.UUID:
        """requests registered a referral to `hospital`, once records' care team knows."""
        referral_id = uuid.uuid4()
        await self.upstream.publish(
            "requests",
            ReferralRegistered(
                **self.upstream.envelope("requests", citizen_id),
                referral_id=referral_id,
                specialty="Cardiologia",
                hospital=hospital,
                priority="normal",
                registered_on=datetime.now(UTC).date(),
                deadline=datetime.now(UTC).date() + timedelta(days=150),
                practitioner_id="P-1",
            ),
        )
        await self._team(citizen_id, lambda t: referral_id in t.referrals)
        return referral_id

    async def referral_closed(self, citizen_id: uuid.UUID, referral_id: uuid.UUID) -> None:
        await self.upstream.publish(
            "requests",
            ReferralStatusChanged(
                **self.upstream.envelope("requests", citizen_id),
                referral_id=referral_id,
                status="completed",
            ),
        )
        await self._team(citizen_id, lambda t: referral_id in t.closed)

    async def _team(self, citizen_id: uuid.UUID, condition: Callable[[Any], bool]) -> None:
        async def known() -> bool:
            team = await in_thread(self.records.app.care_team, citizen_id)
            return team is not None and condition(team)

        await eventually(known)

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


def signed_in(mint: Any, practitioner_id: str, health_unit: str) -> dict[str, str]:
    """A professional's headers from a login that said how it was signed in (amr)."""
    token = mint.token(
        "professional", practitioner_id=practitioner_id, health_unit=health_unit, amr=["pwd"]
    )
    return {"Authorization": f"Bearer {token}"}


EMERGENCY = "unconscious in the emergency room, suspected allergy"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body
