"""A slot in a professional's agenda: opened, booked by one citizen at a time, freed on cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_requests.domain.patient import AppointmentNotFound
from rse_requests.domain.rules import within_booking_window
from rse_shared.eventstore import natural_id

CancelledBy = Literal["citizen", "professional", "system"]


class SlotInThePast(ValueError):
    """A slot can only be opened for a time still to come."""


class SlotAlreadyOpen(Exception):
    """The practitioner already has a slot starting at that time."""


class SlotAlreadyBooked(Exception):
    """The slot is booked by someone else."""


class ConcurrentBooking(Exception):
    """The slot (or the citizen's requests) changed between reading and writing."""


class SlotNotBookable(Exception):
    """The slot starts outside the booking window (in the past, or too far ahead)."""


class AppointmentAlreadyStarted(Exception):
    """An appointment whose time has come can no longer be cancelled."""


class Slot(Aggregate):
    """One per practitioner and start time: a second opening conflicts at version 1."""

    @staticmethod
    def create_id(practitioner_id: str, starts_at: datetime) -> uuid.UUID:
        key = f"{practitioner_id}@{starts_at.astimezone(UTC).isoformat()}"
        return natural_id("slot", key)

    @classmethod
    def open(
        cls,
        practitioner_id: str,
        health_unit: str,
        starts_at: datetime,
        duration_minutes: int,
        now: datetime,
    ) -> Slot:
        if starts_at <= now:
            raise SlotInThePast("a slot must start in the future")
        return cls(
            practitioner_id=practitioner_id,
            health_unit=health_unit,
            starts_at=starts_at.astimezone(UTC),
            duration_minutes=duration_minutes,
        )

    class Opened(Aggregate.Created):
        practitioner_id: str
        health_unit: str
        starts_at: datetime
        duration_minutes: int

    @event(Opened)
    def __init__(
        self, practitioner_id: str, health_unit: str, starts_at: datetime, duration_minutes: int
    ) -> None:
        self.practitioner_id = practitioner_id
        self.health_unit = health_unit
        self.starts_at = starts_at
        self.duration_minutes = duration_minutes
        self.appointment_id: uuid.UUID | None = None
        self.citizen_id: uuid.UUID | None = None

    def book(
        self, appointment_id: uuid.UUID, citizen_id: uuid.UUID, now: datetime, horizon_days: int
    ) -> None:
        if self.appointment_id is not None:
            raise SlotAlreadyBooked("the slot is already booked")
        if not within_booking_window(self.starts_at, now, horizon_days):
            raise SlotNotBookable(f"a slot can be booked from now up to {horizon_days} days ahead")
        self._booked(
            appointment_id=appointment_id,
            citizen_id=citizen_id,
            practitioner_id=self.practitioner_id,
            health_unit=self.health_unit,
            starts_at=self.starts_at,
            duration_minutes=self.duration_minutes,
        )

    class Booked(Aggregate.Event):
        appointment_id: uuid.UUID
        citizen_id: uuid.UUID
        practitioner_id: str
        health_unit: str
        starts_at: datetime
        duration_minutes: int

    # Booked repeats the slot's details so the event stands on its own for the relay.
    @event(Booked)
    def _booked(
        self,
        appointment_id: uuid.UUID,
        citizen_id: uuid.UUID,
        practitioner_id: str,
        health_unit: str,
        starts_at: datetime,
        duration_minutes: int,
    ) -> None:
        self.appointment_id = appointment_id
        self.citizen_id = citizen_id

    def is_upcoming(self, appointment_id: uuid.UUID, now: datetime) -> bool:
        return self.appointment_id == appointment_id and self.starts_at > now

    def cancel(
        self, appointment_id: uuid.UUID, cancelled_by: CancelledBy, reason: str, now: datetime
    ) -> None:
        if self.appointment_id != appointment_id or self.citizen_id is None:
            raise AppointmentNotFound(f"appointment {appointment_id} not found")
        if self.starts_at <= now:
            raise AppointmentAlreadyStarted("the appointment has already started")
        self._cancelled(
            appointment_id=appointment_id,
            citizen_id=self.citizen_id,
            cancelled_by=cancelled_by,
            reason=reason,
        )

    class Cancelled(Aggregate.Event):
        appointment_id: uuid.UUID
        citizen_id: uuid.UUID
        cancelled_by: CancelledBy
        reason: str

    @event(Cancelled)
    def _cancelled(
        self,
        appointment_id: uuid.UUID,
        citizen_id: uuid.UUID,
        cancelled_by: CancelledBy,
        reason: str,
    ) -> None:
        self.appointment_id = None
        self.citizen_id = None
