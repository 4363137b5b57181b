"""Requests' HTTP API: appointments, medication renewals and SIGA referrals."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rse_requests import projections as q
from rse_requests.application import RenewalNotFound, RequestsApplication
from rse_requests.domain.referral import Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.rules import days_left
from rse_requests.domain.slot import Slot
from rse_shared.auth import CurrentPrincipal, Forbidden, Principal, require_roles
from rse_shared.contracts import Priority
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

Text = Annotated[str, Field(min_length=1, max_length=300)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
PractitionerId = Annotated[str, Field(min_length=1, max_length=64)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- request bodies ---------------------------------------------------------------------


class SlotOpening(Strict):
    """A slot in the caller's agenda at their health unit."""

    starts_at: AwareDatetime
    duration_minutes: Annotated[int, Field(ge=5, le=240)] = 20


class Booking(Strict):
    """The free slot to book."""

    slot_id: uuid.UUID


class Cancellation(Strict):
    """Why the appointment is cancelled."""

    reason: Text = "cancelled"


class RenewalAsk(Strict):
    """Chronic medications from the citizen's health summary, by id."""

    medication_ids: Annotated[list[Name], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.medication_ids)) != len(self.medication_ids):
            raise ValueError("medication_ids must be distinct")
        return self


class Packs(Strict):
    """How many packs of one requested medication the doctor renews."""

    medication_id: Name
    # A renewable (long-term treatment) prescription line holds up to 6 packs.
    packs: Annotated[int, Field(ge=1, le=6)]


class Approval(Strict):
    """The doctor renews these items (packs each) until a validity date."""

    decision: Literal["approved"]
    items: Annotated[list[Packs], Field(min_length=1, max_length=20)]
    valid_until: date

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len({i.medication_id for i in self.items}) != len(self.items):
            raise ValueError("each medication appears once")
        return self


class Rejection(Strict):
    """The doctor refuses the renewal, with a reason the citizen sees."""

    decision: Literal["rejected"]
    reason: Text


RenewalDecision = Annotated[Approval | Rejection, Field(discriminator="decision")]


class ReferralRegistration(Strict):
    """A referral for a first hospital consultation."""

    citizen_id: uuid.UUID
    specialty: Name
    hospital: Annotated[str, Field(min_length=1, max_length=200)]
    priority: Priority


class ReferralScheduled(Strict):
    """The hospital scheduled the consultation for a date."""

    status: Literal["scheduled"]
    scheduled_for: date


class ReferralCompleted(Strict):
    """The consultation took place."""

    status: Literal["completed"]


class ReferralCancelled(Strict):
    """The referral was cancelled (with a reason)."""

    status: Literal["cancelled"]
    reason: Text = "cancelled"


ReferralChange = Annotated[ReferralScheduled | ReferralCompleted | ReferralCancelled,
                           Field(discriminator="status")]


# --- responses --------------------------------------------------------------------------


class UserFee(BaseModel):
    """The user fee (taxa moderadora) of the consultation and whether the citizen is exempt."""

    amount: Decimal
    exempt: bool


class AppointmentView(BaseModel):
    """An appointment with the family doctor, with its user fee."""

    appointment_id: uuid.UUID
    slot_id: uuid.UUID
    citizen_id: uuid.UUID
    practitioner_id: str
    health_unit: str
    starts_at: datetime
    duration_minutes: int
    status: Literal["booked", "cancelled"]
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    user_fee: UserFee


class Appointments(BaseModel):
    """The citizen's appointments: upcoming (soonest first) and past (latest first)."""

    upcoming: list[AppointmentView]
    past: list[AppointmentView]


class FreeSlot(BaseModel):
    """A slot the citizen may book, with the user fee they would pay."""

    slot_id: uuid.UUID
    practitioner_id: str
    health_unit: str
    starts_at: datetime
    duration_minutes: int
    user_fee: UserFee


class BookingView(BaseModel):
    """Who booked a slot, and their user fee."""

    appointment_id: uuid.UUID
    citizen_id: uuid.UUID
    user_fee: UserFee


class AgendaSlot(BaseModel):
    """A slot of the professional's agenda and its booking, if any."""

    slot_id: uuid.UUID
    practitioner_id: str
    health_unit: str
    starts_at: datetime
    duration_minutes: int
    status: Literal["free", "booked"]
    booking: BookingView | None = None


class Medication(BaseModel):
    """A chronic medication from the health summary."""

    medication_id: str
    name: str
    dosage: str


class RenewedItem(Medication):
    """A medication the doctor renewed, with its packs."""

    packs: int


class RenewalView(BaseModel):
    """A renewal request: pending -> approved -> prescribed, or rejected (with reason)."""

    request_id: uuid.UUID
    citizen_id: uuid.UUID
    practitioner_id: str
    health_unit: str
    medications: list[Medication]
    status: str
    requested_at: datetime
    items: list[RenewedItem] = []
    valid_until: date | None = None
    reason: str | None = None
    prescription_id: uuid.UUID | None = None
    prescription_number: str | None = None


class ReferralView(BaseModel):
    """A SIGA referral; days_left counts to the TMRG deadline while it waits to be scheduled."""

    referral_id: uuid.UUID
    citizen_id: uuid.UUID
    practitioner_id: str
    specialty: str
    hospital: str
    priority: Priority
    status: str
    registered_on: date
    deadline: date
    scheduled_for: date | None = None
    reason: str | None = None
    days_left: int | None
    tmrg_breached: bool


# --- dependencies -----------------------------------------------------------------------


def get_app(request: Request) -> RequestsApplication:
    app: RequestsApplication = request.app.state.app
    return app


def get_fee(request: Request) -> Decimal:
    fee: Decimal = request.app.state.consultation_fee
    return fee


App = Annotated[RequestsApplication, Depends(get_app)]
Fee = Annotated[Decimal, Depends(get_fee)]
Professional = Annotated[Principal, Depends(require_roles("professional"))]


async def own_citizen(citizen_id: uuid.UUID, principal: CurrentPrincipal) -> Principal:
    """Citizens reach only their own requests."""
    if not principal.is_citizen(citizen_id):
        raise Forbidden("a citizen may only reach their own requests")
    return principal


async def own_practitioner(practitioner_id: str, principal: Professional) -> Principal:
    """Professionals reach only their own agenda and the renewals addressed to them."""
    if principal.practitioner_id != practitioner_id:
        raise Forbidden("a professional may only reach their own agenda and requests")
    return principal


OwnCitizen = Annotated[Principal, Depends(own_citizen)]
OwnPractitioner = Annotated[Principal, Depends(own_practitioner)]

citizens = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])
practitioners = APIRouter(prefix="/practitioners/{practitioner_id}", tags=["professionals"])
referrals = APIRouter(prefix="/referrals", tags=["referrals"])


# --- views ------------------------------------------------------------------------------


def fee(amount: Decimal, exempt: bool) -> UserFee:
    return UserFee(amount=amount.quantize(Decimal("0.01")), exempt=exempt)


def appointment_view(doc: dict[str, Any], amount: Decimal, exempt: bool) -> AppointmentView:
    return AppointmentView(appointment_id=doc["_id"], user_fee=fee(amount, exempt), **{
        k: v for k, v in doc.items() if k in AppointmentView.model_fields})


def booked_view(slot: Slot, amount: Decimal, exempt: bool) -> AppointmentView:
    return AppointmentView(
        appointment_id=slot.appointment_id, slot_id=slot.id, citizen_id=slot.citizen_id,
        practitioner_id=slot.practitioner_id, health_unit=slot.health_unit,
        starts_at=slot.starts_at, duration_minutes=slot.duration_minutes, status="booked",
        user_fee=fee(amount, exempt))


def agenda_slot(doc: dict[str, Any], amount: Decimal, exempt: set[str]) -> AgendaSlot:
    booking = doc.get("booking")
    return AgendaSlot(
        slot_id=doc["_id"], practitioner_id=doc["practitioner_id"],
        health_unit=doc["health_unit"], starts_at=doc["starts_at"],
        duration_minutes=doc["duration_minutes"], status=doc["status"],
        booking=BookingView(**booking, user_fee=fee(amount, booking["citizen_id"] in exempt))
        if booking else None)


def slot_view(slot: Slot) -> AgendaSlot:
    return AgendaSlot(slot_id=slot.id, practitioner_id=slot.practitioner_id,
                      health_unit=slot.health_unit, starts_at=slot.starts_at,
                      duration_minutes=slot.duration_minutes, status="free")


def renewal_view(doc: dict[str, Any]) -> RenewalView:
    return RenewalView(request_id=doc["_id"], **{
        k: v for k, v in doc.items() if k in RenewalView.model_fields})


def renewal_outcome(renewal: RenewalRequest) -> RenewalView:
    prescription_id, number = renewal.prescription or (None, None)
    return RenewalView(
        request_id=renewal.id, citizen_id=renewal.citizen_id,
        practitioner_id=renewal.practitioner_id, health_unit=renewal.health_unit,
        medications=renewal.medications, status=renewal.status,
        requested_at=renewal.created_on, items=renewal.items, valid_until=renewal.valid_until,
        reason=renewal.reason, prescription_id=prescription_id, prescription_number=number)


def referral_view(doc: dict[str, Any], today: date) -> ReferralView:
    waiting = doc["status"] in ("registered", "tmrg_breached")
    deadline = date.fromisoformat(doc["deadline"])
    return ReferralView(referral_id=doc["_id"],
                        days_left=days_left(deadline, today) if waiting else None, **{
                            k: v for k, v in doc.items() if k in ReferralView.model_fields})


def referral_outcome(referral: Referral, today: date) -> ReferralView:
    return referral_view({
        "_id": referral.id, "citizen_id": referral.citizen_id,
        "practitioner_id": referral.practitioner_id, "specialty": referral.specialty,
        "hospital": referral.hospital, "priority": referral.priority, "status": referral.status,
        "registered_on": referral.registered_on, "deadline": referral.deadline.isoformat(),
        "scheduled_for": referral.scheduled_for, "reason": referral.reason,
        "tmrg_breached": referral.tmrg_breached}, today)


# --- citizens ---------------------------------------------------------------------------


@citizens.get("/slots", response_model=list[FreeSlot])
async def bookable_slots(citizen_id: uuid.UUID, _: OwnCitizen, app: App, db: ReadModels,
                         amount: Fee) -> list[FreeSlot]:
    """Free slots of the citizen's family doctor within the booking window."""
    patient = await q.patient_of(db, str(citizen_id))
    if not patient or not patient.get("family_doctor") or patient.get("deregistered"):
        return []
    now = app.clock()
    docs = await q.free_slots(db, patient["family_doctor"]["practitioner_id"], now,
                              now + timedelta(days=app.booking_horizon_days))
    exempt = bool(await q.exempt_citizens(db, [str(citizen_id)], now.date()))
    return [FreeSlot(slot_id=d["_id"], user_fee=fee(amount, exempt), **{
        k: v for k, v in d.items() if k in FreeSlot.model_fields}) for d in docs]


@citizens.post("/appointments", status_code=status.HTTP_201_CREATED,
               response_model=AppointmentView)
async def book(citizen_id: uuid.UUID, body: Booking, _: OwnCitizen, app: App, db: ReadModels,
               amount: Fee) -> AppointmentView:
    """Book a free slot with the citizen's family doctor (409 if someone was faster)."""
    slot = await in_thread(app.book, citizen_id, body.slot_id)
    exempt = bool(await q.exempt_citizens(db, [str(citizen_id)], app.today()))
    return booked_view(slot, amount, exempt)


@citizens.get("/appointments", response_model=Appointments)
async def appointments(citizen_id: uuid.UUID, _: OwnCitizen, app: App, db: ReadModels,
                       amount: Fee) -> Appointments:
    """The citizen's upcoming and past appointments, with the user fee."""
    now = app.clock()
    exempt = bool(await q.exempt_citizens(db, [str(citizen_id)], now.date()))
    views = [appointment_view(d, amount, exempt)
             for d in await q.appointments_of(db, str(citizen_id))]
    return Appointments(upcoming=[v for v in views if v.starts_at > now],
                        past=[v for v in reversed(views) if v.starts_at <= now])


@citizens.post("/appointments/{appointment_id}/cancellation", response_model=AppointmentView)
async def cancel(citizen_id: uuid.UUID, appointment_id: uuid.UUID, body: Cancellation,
                 _: OwnCitizen, app: App, db: ReadModels, amount: Fee) -> AppointmentView:
    """Cancel an upcoming appointment; the slot is free again."""
    slot = await in_thread(app.cancel_appointment, citizen_id, appointment_id, body.reason)
    exempt = bool(await q.exempt_citizens(db, [str(citizen_id)], app.today()))
    return AppointmentView(
        appointment_id=appointment_id, slot_id=slot.id, citizen_id=citizen_id,
        practitioner_id=slot.practitioner_id, health_unit=slot.health_unit,
        starts_at=slot.starts_at, duration_minutes=slot.duration_minutes, status="cancelled",
        cancelled_by="citizen", cancel_reason=body.reason, user_fee=fee(amount, exempt))


@citizens.post("/renewals", status_code=status.HTTP_201_CREATED, response_model=RenewalView)
async def request_renewal(citizen_id: uuid.UUID, body: RenewalAsk, _: OwnCitizen,
                          app: App) -> RenewalView:
    """Ask the family doctor to renew chronic medications from the health summary."""
    renewal = await in_thread(app.request_renewal, citizen_id, body.medication_ids)
    return renewal_outcome(renewal)


@citizens.get("/renewals", response_model=list[RenewalView])
async def renewals(citizen_id: uuid.UUID, _: OwnCitizen, db: ReadModels) -> list[RenewalView]:
    """The citizen's renewal requests, newest first, with their status."""
    return [renewal_view(d) for d in await q.renewals_of(db, str(citizen_id))]


@citizens.get("/renewals/{request_id}", response_model=RenewalView)
async def renewal(citizen_id: uuid.UUID, request_id: uuid.UUID, _: OwnCitizen,
                  db: ReadModels) -> RenewalView:
    """One renewal request, followed up to its prescription."""
    doc = await q.renewal_of(db, str(citizen_id), str(request_id))
    if doc is None:
        raise RenewalNotFound(f"renewal request {request_id} not found")
    return renewal_view(doc)


@citizens.get("/referrals", response_model=list[ReferralView])
async def citizen_referrals(citizen_id: uuid.UUID, _: OwnCitizen, app: App,
                            db: ReadModels) -> list[ReferralView]:
    """The citizen's referrals: status, deadline, days left, TMRG breach."""
    today = app.today()
    return [referral_view(d, today) for d in await q.referrals_of(db, str(citizen_id))]


# --- professionals ----------------------------------------------------------------------


@practitioners.post("/slots", status_code=status.HTTP_201_CREATED, response_model=AgendaSlot)
async def open_slot(practitioner_id: str, body: SlotOpening, caller: OwnPractitioner,
                    app: App) -> AgendaSlot:
    """Open a slot in the caller's agenda (409 if it is already open)."""
    if not caller.health_unit:
        raise Forbidden("the professional's token names no health unit")
    slot = await in_thread(app.open_slot, practitioner_id, caller.health_unit, body.starts_at,
                           body.duration_minutes)
    return slot_view(slot)


@practitioners.get("/agenda", response_model=list[AgendaSlot])
async def agenda(practitioner_id: str, _: OwnPractitioner, app: App, db: ReadModels, amount: Fee,
                 start: Annotated[date | None, Query(alias="from")] = None,
                 days: Annotated[int, Query(ge=1, le=366)] = 7) -> list[AgendaSlot]:
    """The caller's slots from a day (default today) for some days, with their bookings."""
    first = start or app.today()
    begin = datetime.combine(first, datetime.min.time(), tzinfo=app.clock().tzinfo)
    docs = await q.agenda_of(db, practitioner_id, begin, begin + timedelta(days=days))
    citizens_booked = [d["booking"]["citizen_id"] for d in docs if d.get("booking")]
    exempt = await q.exempt_citizens(db, citizens_booked, app.today())
    return [agenda_slot(d, amount, exempt) for d in docs]


@practitioners.post("/slots/{slot_id}/cancellation", response_model=AgendaSlot)
async def cancel_booking(practitioner_id: str, slot_id: uuid.UUID, body: Cancellation,
                         _: OwnPractitioner, app: App) -> AgendaSlot:
    """Cancel the appointment booked in one of the caller's slots; the slot is free again."""
    slot = await in_thread(app.cancel_booking, practitioner_id, slot_id, body.reason)
    return slot_view(slot)


@practitioners.get("/renewals", response_model=list[RenewalView])
async def addressed_renewals(
    practitioner_id: str, _: OwnPractitioner, db: ReadModels,
    state: Annotated[Literal["pending", "approved", "rejected", "prescribed", "cancelled"],
                     Query(alias="status")] = "pending",
) -> list[RenewalView]:
    """Renewal requests addressed to the caller (pending ones by default, oldest first)."""
    return [renewal_view(d) for d in await q.renewals_for(db, practitioner_id, state)]


@practitioners.post("/renewals/{request_id}/decision", response_model=RenewalView)
async def decide_renewal(practitioner_id: str, request_id: uuid.UUID, body: RenewalDecision,
                         _: OwnPractitioner, app: App) -> RenewalView:
    """Approve (packs per item, validity) or reject (reason) a request addressed to the caller."""
    if isinstance(body, Approval):
        renewal = await in_thread(app.approve_renewal, practitioner_id, request_id,
                                  {i.medication_id: i.packs for i in body.items},
                                  body.valid_until)
    else:
        renewal = await in_thread(app.reject_renewal, practitioner_id, request_id, body.reason)
    return renewal_outcome(renewal)


@practitioners.get("/referrals", response_model=list[ReferralView])
async def registered_referrals(practitioner_id: str, _: OwnPractitioner, app: App,
                               db: ReadModels) -> list[ReferralView]:
    """Referrals the caller registered, soonest deadline first."""
    today = app.today()
    return [referral_view(d, today) for d in await q.referrals_by(db, practitioner_id)]


# --- referrals --------------------------------------------------------------------------


@referrals.post("", status_code=status.HTTP_201_CREATED, response_model=ReferralView)
async def register_referral(body: ReferralRegistration, caller: Professional,
                            app: App) -> ReferralView:
    """Register a referral for a first hospital consultation, with its TMRG deadline."""
    if not (caller.practitioner_id and caller.health_unit):
        raise Forbidden("the professional's token names no practitioner or health unit")
    referral = await in_thread(app.register_referral, body.citizen_id, body.specialty,
                               body.hospital, body.priority, caller.practitioner_id,
                               caller.health_unit)
    return referral_outcome(referral, app.today())


@referrals.post("/{referral_id}/status", response_model=ReferralView)
async def change_referral(referral_id: uuid.UUID, body: ReferralChange, _: Professional,
                          app: App) -> ReferralView:
    """The hospital scheduled (with a date), completed or cancelled the consultation."""
    referral = await in_thread(change, app, referral_id, body)
    return referral_outcome(referral, app.today())


def change(app: RequestsApplication, referral_id: uuid.UUID,
           body: ReferralScheduled | ReferralCompleted | ReferralCancelled) -> Referral:
    if isinstance(body, ReferralScheduled):
        return app.schedule_referral(referral_id, body.scheduled_for)
    if isinstance(body, ReferralCompleted):
        return app.complete_referral(referral_id)
    return app.cancel_referral(referral_id, body.reason)
