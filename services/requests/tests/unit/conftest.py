"""The requests application on in-memory persistence, fed the way its consumer feeds it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rse_requests.application import RequestsApplication
from rse_shared.contracts import (
    ChronicMedication,
    CitizenDeregistered,
    ExemptionDecided,
    ExemptionExpired,
    FamilyDoctorAssigned,
    HealthSummaryUpdated,
    IntegrationEvent,
    PrescriptionIssued,
    PrescriptionItem,
)
from rse_shared.testing import Envelopes, ManualClock, a_registration, feed

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DOCTOR = ("P-100", "USF Arco")


Clock = ManualClock  # the service's clock, set by the test


class World:
    """What identity, records and benefits would publish, fed straight to the application."""

    def __init__(self, app: RequestsApplication) -> None:
        self.app = app
        self.envelopes = Envelopes()
        self.positions = self.envelopes.positions

    def feed(self, event: IntegrationEvent) -> None:
        feed(self.app, event)

    def envelope(self, producer: str, citizen_id: uuid.UUID) -> dict[str, Any]:
        return self.envelopes.envelope(producer, citizen_id)

    def citizen(
        self, doctor: tuple[str, str] | None = DOCTOR, medications: tuple[str, ...] = ()
    ) -> uuid.UUID:
        """A registered citizen, with a family doctor and chronic medications if given."""
        citizen_id = uuid.uuid4()
        self.positions["identity", citizen_id] = 1
        self.feed(a_registration(citizen_id))
        if doctor:
            self.assign(citizen_id, *doctor)
        if medications:
            self.summary(citizen_id, *medications)
        return citizen_id

    def assign(self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str) -> None:
        self.feed(
            FamilyDoctorAssigned(
                **self.envelope("identity", citizen_id),
                practitioner_id=practitioner_id,
                health_unit=health_unit,
            )
        )

    def deregister(self, citizen_id: uuid.UUID) -> None:
        self.feed(
            CitizenDeregistered(
                **self.envelope("identity", citizen_id),
                reason="death",
                effective_date=date(2026, 12, 1),
            )
        )

    def summary(self, citizen_id: uuid.UUID, *medication_ids: str) -> None:
        medications = tuple(
            ChronicMedication(medication_id=m, name=f"drug {m}", dosage="1/day")
            for m in medication_ids
        )
        self.feed(
            HealthSummaryUpdated(
                **self.envelope("records", citizen_id),
                allergies=(),
                chronic_conditions=("hypertension",),
                chronic_medications=medications,
                updated_by="P-100",
            )
        )

    def prescribe(self, citizen_id: uuid.UUID, request_id: uuid.UUID) -> uuid.UUID:
        prescription_id = uuid.uuid4()
        self.feed(
            PrescriptionIssued(
                **self.envelope("records", citizen_id),
                prescription_id=prescription_id,
                prescription_number="PT-0001",
                valid_until=date(2027, 6, 1),
                prescriber="P-100",
                items=(
                    PrescriptionItem(medication_id="M1", name="drug M1", dosage="1/day", packs=2),
                ),
                renewal_request_id=request_id,
            )
        )
        return prescription_id

    def exemption(self, citizen_id: uuid.UUID, decision: str = "granted") -> uuid.UUID:
        exemption_id = uuid.uuid4()
        self.feed(
            ExemptionDecided(
                **self.envelope("benefits", citizen_id),
                exemption_id=exemption_id,
                category="economic_insufficiency",
                decision=decision,  # type: ignore[arg-type]
                basis="rule",
                valid_from=date(2026, 11, 1),
                valid_until=date(2027, 10, 31),
                reason="income",
            )
        )
        return exemption_id

    def exemption_expired(self, citizen_id: uuid.UUID, exemption_id: uuid.UUID) -> None:
        self.feed(
            ExemptionExpired(
                **self.envelope("benefits", citizen_id),
                exemption_id=exemption_id,
                category="economic_insufficiency",
                expired_on=date(2027, 11, 1),
            )
        )

    def slot(self, days: float = 3, practitioner: tuple[str, str] = DOCTOR) -> uuid.UUID:
        """A slot opened `days` from now."""
        return self.app.open_slot(*practitioner, NOW + timedelta(days=days), 20).id


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(clock: Clock) -> RequestsApplication:
    return RequestsApplication(clock=clock)


@pytest.fixture
def world(app: RequestsApplication) -> World:
    return World(app)
