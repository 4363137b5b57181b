"""The requests service on the real servers, fed through fresh identity, records and benefits
topics, with a clock the tests move."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from rse_requests.bootstrap import bootstrap
from rse_requests.config import Settings
from rse_requests.domain.patient import Patient, UnknownPatient
from rse_shared.contracts import (
    ChronicMedication,
    CitizenDeregistered,
    ExemptionDecided,
    FamilyDoctorAssigned,
    HealthSummaryUpdated,
    IntegrationEvent,
    PrescriptionIssued,
    PrescriptionItem,
)
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.testing import (
    Kit,
    ManualClock,
    TokenMint,
    Upstream,
    a_registration,
    asgi_client,
    eventually,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DOCTOR = ("P-100", "USF Arco")


Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def topics(kit: Kit) -> dict[str, str]:
    return await kit.topics("requests")


@pytest.fixture
def settings(kit: Kit) -> Settings:
    return kit.settings(Settings, tmrg_check_interval=0.1)


@pytest.fixture
async def requests_service(
    kit: Kit, settings: Settings, topics: dict[str, str], clock: Clock
) -> AsyncIterator[Service]:
    """Requests with its relay, projectors, consumer and TMRG job running."""
    async with kit.serve(
        bootstrap, settings, topics, verifier=kit.mint.verifier(), clock=clock
    ) as service:
        yield service


@pytest.fixture
async def client(requests_service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(requests_service) as http:
        yield http


@pytest.fixture
def world(kit: Kit, topics: dict[str, str], requests_service: Service) -> World:
    return World(kit.upstream(topics), requests_service)


class World:
    """What identity, records and benefits would publish, produced onto their topics."""

    def __init__(self, upstream: Upstream, service: Service) -> None:
        self.upstream = upstream
        self.topics = upstream.topics
        self.positions = upstream.positions
        self.service = service

    def _envelope(self, producer: str, citizen_id: uuid.UUID) -> dict[str, Any]:
        return self.upstream.envelope(producer, citizen_id)

    async def citizens(
        self, count: int, doctor: tuple[str, str] = DOCTOR, medications: tuple[str, ...] = ()
    ) -> list[uuid.UUID]:
        """Citizens registered with a family doctor (and a summary), once requests knows them."""
        ids = [uuid.uuid4() for _ in range(count)]
        identity: list[IntegrationEvent] = []
        for citizen_id in ids:
            self.positions["identity", citizen_id] = 1
            identity += [a_registration(citizen_id), self.assignment(citizen_id, *doctor)]
        await self.upstream.publish("identity", *identity)
        if medications:
            await self.upstream.publish("records", *(self.summary(c, *medications) for c in ids))
        for citizen_id in ids:
            await self.known(
                citizen_id,
                lambda p: p.family_doctor == doctor and set(medications) <= set(p.medications),
            )
        return ids

    async def citizen(
        self, doctor: tuple[str, str] = DOCTOR, medications: tuple[str, ...] = ()
    ) -> uuid.UUID:
        return (await self.citizens(1, doctor, medications))[0]

    def assignment(
        self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str
    ) -> FamilyDoctorAssigned:
        return FamilyDoctorAssigned(
            **self._envelope("identity", citizen_id),
            practitioner_id=practitioner_id,
            health_unit=health_unit,
        )

    def summary(self, citizen_id: uuid.UUID, *medication_ids: str) -> HealthSummaryUpdated:
        medications = tuple(
            ChronicMedication(medication_id=m, name=f"drug {m}", dosage="1/day")
            for m in medication_ids
        )
        return HealthSummaryUpdated(
            **self._envelope("records", citizen_id),
            allergies=(),
            chronic_conditions=("diabetes",),
            chronic_medications=medications,
            updated_by=DOCTOR[0],
        )

    async def reassign(self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str) -> None:
        await self.upstream.publish(
            "identity", self.assignment(citizen_id, practitioner_id, health_unit)
        )
        await self.known(citizen_id, lambda p: p.family_doctor == (practitioner_id, health_unit))

    async def deregister(self, citizen_id: uuid.UUID) -> None:
        await self.upstream.publish(
            "identity",
            CitizenDeregistered(
                **self._envelope("identity", citizen_id),
                reason="emigration",
                effective_date=date(2026, 12, 1),
            ),
        )
        await self.known(citizen_id, lambda p: p.deregistered)

    async def prescribe(self, citizen_id: uuid.UUID, request_id: uuid.UUID) -> PrescriptionIssued:
        issued = PrescriptionIssued(
            **self._envelope("records", citizen_id),
            prescription_id=uuid.uuid4(),
            prescription_number="011000000123456789",
            valid_until=date(2027, 5, 31),
            prescriber=DOCTOR[0],
            renewal_request_id=request_id,
            items=(PrescriptionItem(medication_id="M1", name="drug M1", dosage="1/day", packs=2),),
        )
        await self.upstream.publish("records", issued)
        return issued

    async def exempt(self, citizen_id: uuid.UUID) -> None:
        await self.upstream.publish(
            "benefits",
            ExemptionDecided(
                **self._envelope("benefits", citizen_id),
                exemption_id=uuid.uuid4(),
                category="economic_insufficiency",
                decision="granted",
                basis="rule",
                valid_from=NOW.date() - timedelta(days=1),
                valid_until=NOW.date() + timedelta(days=364),
                reason="income per person",
            ),
        )
        # Consumed before the test goes on, so its own commands do not race the consumer.
        await self.known(citizen_id, lambda p: bool(p.exemptions))

    async def known(self, citizen_id: uuid.UUID, condition: Callable[[Patient], bool]) -> None:
        """Wait until requests' own store shows the condition of the patient."""

        async def consumed() -> bool:
            return await in_thread(self._holds, citizen_id, condition)

        await eventually(consumed, timeout=30)

    def _holds(self, citizen_id: uuid.UUID, condition: Callable[[Patient], bool]) -> bool:
        try:
            patient = self.service.app.patient(citizen_id)
        except UnknownPatient:
            return False
        return bool(condition(patient))

    async def published(self, event_type: type[IntegrationEvent], count: int = 1) -> list[Any]:
        """The events of one type requests published on its topic, once there are `count`."""
        return await self.upstream.published("requests", event_type, count, settle=0)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def open_slot(
    client: httpx.AsyncClient, mint: TokenMint, days: float, doctor: tuple[str, str] = DOCTOR
) -> str:
    """A slot opened by the doctor `days` after the test clock's now."""
    response = await client.post(
        f"/practitioners/{doctor[0]}/slots",
        headers=mint.professional(*doctor),
        json={"starts_at": (NOW + timedelta(days=days)).isoformat(), "duration_minutes": 20},
    )
    assert response.status_code == 201, response.text
    slot_id: str = response.json()["slot_id"]
    return slot_id
