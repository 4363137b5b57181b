import uuid
from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from rse_requests.application import RequestsApplication
from rse_requests.domain.patient import (
    AppointmentNotFound,
    NoFamilyDoctor,
    NotYourFamilyDoctor,
    PatientDeregistered,
    UnknownPatient,
)
from rse_requests.domain.slot import (
    AppointmentAlreadyStarted,
    Slot,
    SlotAlreadyBooked,
    SlotAlreadyOpen,
    SlotInThePast,
    SlotNotBookable,
)

from .conftest import DOCTOR, NOW, Clock, World


def test_a_citizen_books_a_free_slot_with_their_family_doctor(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen, slot_id = world.citizen(), world.slot()
    slot = app.book(citizen, slot_id)
    assert slot.citizen_id == citizen and slot.appointment_id is not None
    assert str(slot.appointment_id) in app.patient(citizen).appointments


def test_a_slot_is_booked_once(app: RequestsApplication, world: World) -> None:
    first, second, slot_id = world.citizen(), world.citizen(), world.slot()
    app.book(first, slot_id)
    with pytest.raises(SlotAlreadyBooked):
        app.book(second, slot_id)


def test_two_bookings_written_from_the_same_version_conflict(
    app: RequestsApplication,
    world: World,
) -> None:
    first, second, slot_id = world.citizen(), world.citizen(), world.slot()
    mine, theirs = app.repository.get(slot_id), app.repository.get(slot_id)
    mine.book(first, first, NOW, 60)
    theirs.book(second, second, NOW, 60)
    app.save(mine)
    with pytest.raises(IntegrityError):
        app.save(theirs)
    assert app.slot(slot_id).citizen_id == first


def test_a_slot_is_opened_once(app: RequestsApplication, world: World) -> None:
    world.slot(days=2)
    with pytest.raises(SlotAlreadyOpen):
        world.slot(days=2)


def test_the_same_instant_in_another_offset_is_the_same_slot() -> None:
    starts = NOW + timedelta(days=1)
    assert Slot.create_id("P-1", starts) == Slot.create_id("P-1", starts.astimezone())


def test_a_slot_cannot_be_opened_in_the_past(app: RequestsApplication) -> None:
    with pytest.raises(SlotInThePast):
        app.open_slot(*DOCTOR, NOW, 20)


def test_booking_with_a_doctor_not_theirs_is_refused_and_records_nothing(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen()
    other_slot = world.slot(practitioner=("P-999", "USF Outra"))
    with pytest.raises(NotYourFamilyDoctor):
        app.book(citizen, other_slot)
    assert app.slot(other_slot).appointment_id is None
    assert app.patient(citizen).appointments == {}


def test_a_citizen_without_a_family_doctor_cannot_book(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(doctor=None)
    with pytest.raises(NoFamilyDoctor):
        app.book(citizen, world.slot())


def test_an_unknown_citizen_cannot_book(app: RequestsApplication, world: World) -> None:
    with pytest.raises(UnknownPatient):
        app.book(uuid.uuid4(), world.slot())


def test_slots_outside_the_booking_window_cannot_be_booked(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    citizen = world.citizen()
    too_far = world.slot(days=61)
    with pytest.raises(SlotNotBookable):
        app.book(citizen, too_far)
    soon = world.slot(days=1)
    clock.now = NOW + timedelta(days=2)
    with pytest.raises(SlotNotBookable):
        app.book(citizen, soon)


def test_a_cancelled_appointment_frees_the_slot_for_someone_else(
    app: RequestsApplication,
    world: World,
) -> None:
    first, second, slot_id = world.citizen(), world.citizen(), world.slot()
    booked = app.book(first, slot_id)
    app.cancel_appointment(first, booked.appointment_id, "cannot come")  # type: ignore[arg-type]
    assert app.patient(first).appointments == {}
    assert app.book(second, slot_id).citizen_id == second


def test_a_citizen_cannot_cancel_someone_elses_appointment(
    app: RequestsApplication,
    world: World,
) -> None:
    owner, other, slot_id = world.citizen(), world.citizen(), world.slot()
    booked = app.book(owner, slot_id)
    with pytest.raises(AppointmentNotFound):
        app.cancel_appointment(other, booked.appointment_id, "no")  # type: ignore[arg-type]


def test_an_appointment_whose_time_has_come_cannot_be_cancelled(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    citizen = world.citizen()
    booked = app.book(citizen, world.slot(days=1))
    clock.now = NOW + timedelta(days=1)
    with pytest.raises(AppointmentAlreadyStarted):
        app.cancel_appointment(citizen, booked.appointment_id, "late")  # type: ignore[arg-type]


def test_the_professional_cancels_a_booking_in_their_own_agenda(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen, slot_id = world.citizen(), world.slot()
    app.book(citizen, slot_id)
    app.cancel_booking(DOCTOR[0], slot_id, "doctor ill")
    events = list(app.events.get(slot_id))
    assert isinstance(events[-1], Slot.Cancelled) and events[-1].cancelled_by == "professional"
    assert app.patient(citizen).appointments == {}


def test_a_deregistered_citizen_cannot_book(app: RequestsApplication, world: World) -> None:
    citizen = world.citizen()
    world.deregister(citizen)
    with pytest.raises(PatientDeregistered):
        app.book(citizen, world.slot())
