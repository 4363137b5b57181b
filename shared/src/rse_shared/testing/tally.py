"""A minimal consuming application, to test the consumer machinery without a service."""

from __future__ import annotations

import uuid
from datetime import date
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, event

from rse_shared.clock import utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import CitizenRegistered, FamilyDoctorAssigned
from rse_shared.eventstore import natural_id


class Tally(Aggregate):
    """How many times a citizen's registration was applied."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("tally", str(citizen_id))

    @event("Started")
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class RegistrationTally(ConsumerApplication):
    """Counts CitizenRegistered per citizen; a full name of 'Poison' always fails."""

    name = "tally"

    @singledispatchmethod
    def handle(self, domain_event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events change nothing."""

    @handle.register(CitizenRegistered)
    def _(
        self, domain_event: CitizenRegistered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        if domain_event.full_name == "Poison":
            raise RuntimeError("cannot count poison")
        try:
            tally: Tally = self.repository.get(Tally.create_id(domain_event.citizen_id))
        except AggregateNotFoundError:
            tally = Tally(domain_event.citizen_id)
        tally.count_one()
        processing_event.collect_events(tally)

    def count(self, citizen_id: uuid.UUID) -> int:
        try:
            tally: Tally = self.repository.get(Tally.create_id(citizen_id))
        except AggregateNotFoundError:
            return 0
        return tally.count


def a_family_doctor(
    citizen_id: uuid.UUID, practitioner_id: str, health_unit: str, position: int = 2
) -> FamilyDoctorAssigned:
    """identity's assignment of the citizen's family doctor (after their registration)."""
    return FamilyDoctorAssigned(
        event_id=uuid.uuid5(citizen_id, str(position)),
        occurred_at=utcnow(),
        producer="identity",
        citizen_id=citizen_id,
        source_position=position,
        practitioner_id=practitioner_id,
        health_unit=health_unit,
    )


def a_registration(
    citizen_id: uuid.UUID | None = None, position: int = 1, full_name: str = "Ana Silva"
) -> CitizenRegistered:
    citizen_id = citizen_id or uuid.uuid4()
    return CitizenRegistered(
        event_id=uuid.uuid5(citizen_id, str(position)),
        occurred_at=utcnow(),
        producer="identity",
        citizen_id=citizen_id,
        source_position=position,
        sns_number="123456789",
        full_name=full_name,
        adult_on=date(1998, 1, 1),
    )
