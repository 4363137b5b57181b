"""A citizen's appointments with their family doctor: free slots, booking, cancellation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, status

from rse_requests import projections as q
from rse_requests.api.dependencies import App, Fee, OwnCitizen
from rse_requests.api.schemas import (
    Appointments,
    AppointmentView,
    Booking,
    Cancellation,
    FreeSlot,
    UserFee,
)
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

appointments = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])


async def user_fee(db: ReadModels, app: App, citizen_id: uuid.UUID, amount: Fee) -> UserFee:
    exempt = bool(await q.exempt_citizens(db, [str(citizen_id)], app.today()))
    return UserFee.of(amount, exempt)


@appointments.get("/slots", response_model=list[FreeSlot])
async def bookable_slots(
    citizen_id: uuid.UUID, _: OwnCitizen, app: App, db: ReadModels, amount: Fee
) -> list[FreeSlot]:
    """Free slots of the citizen's family doctor within the booking window."""
    patient = await q.patient_of(db, str(citizen_id))
    doctor = patient.family_doctor_id if patient else None
    if doctor is None:
        return []
    now = app.clock()
    docs = await q.free_slots(db, doctor, now, now + timedelta(days=app.booking_horizon_days))
    fee = await user_fee(db, app, citizen_id, amount)
    return [FreeSlot.of(d, fee) for d in docs]


@appointments.post(
    "/appointments", status_code=status.HTTP_201_CREATED, response_model=AppointmentView
)
async def book(
    citizen_id: uuid.UUID, body: Booking, _: OwnCitizen, app: App, db: ReadModels, amount: Fee
) -> AppointmentView:
    """Book a free slot with the citizen's family doctor (409 if someone was faster)."""
    slot = await in_thread(app.book, citizen_id, body.slot_id)
    assert slot.appointment_id is not None  # booked just now
    return AppointmentView.of_slot(
        slot, slot.appointment_id, citizen_id, await user_fee(db, app, citizen_id, amount)
    )


@appointments.get("/appointments", response_model=Appointments)
async def citizen_appointments(
    citizen_id: uuid.UUID, _: OwnCitizen, app: App, db: ReadModels, amount: Fee
) -> Appointments:
    """The citizen's upcoming and past appointments, with the user fee."""
    now = app.clock()
    fee = await user_fee(db, app, citizen_id, amount)
    views = [
        AppointmentView.of_document(d, fee) for d in await q.appointments_of(db, str(citizen_id))
    ]
    return Appointments(
        upcoming=[v for v in views if v.starts_at > now],
        past=[v for v in reversed(views) if v.starts_at <= now],
    )


@appointments.post("/appointments/{appointment_id}/cancellation", response_model=AppointmentView)
async def cancel(
    citizen_id: uuid.UUID,
    appointment_id: uuid.UUID,
    body: Cancellation,
    _: OwnCitizen,
    app: App,
    db: ReadModels,
    amount: Fee,
) -> AppointmentView:
    """Cancel an upcoming appointment; the slot is free again."""
    slot = await in_thread(app.cancel_appointment, citizen_id, appointment_id, body.reason)
    return AppointmentView.of_slot(
        slot,
        appointment_id,
        citizen_id,
        await user_fee(db, app, citizen_id, amount),
        cancel_reason=body.reason,
    )
