"""Requests' request bodies and response views."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from rse_requests.documents import (
    AppointmentDocument,
    ReferralDocument,
    RenewalDocument,
    SlotDocument,
)
from rse_requests.domain.referral import UNSCHEDULED, Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.rules import days_left
from rse_requests.domain.slot import Slot
from rse_shared.api import Strict
from rse_shared.contracts import Priority

Text = Annotated[str, Field(min_length=1, max_length=300)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


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


ReferralChange = Annotated[
    ReferralScheduled | ReferralCompleted | ReferralCancelled, Field(discriminator="status")
]


# --- responses --------------------------------------------------------------------------


class UserFee(BaseModel):
    """The user fee (taxa moderadora) of the consultation and whether the citizen is exempt."""

    amount: Decimal
    exempt: bool

    @classmethod
    def of(cls, amount: Decimal, exempt: bool) -> UserFee:
        """The fee in euros and cents."""
        return cls(amount=amount.quantize(Decimal("0.01")), exempt=exempt)


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

    @classmethod
    def of_document(cls, doc: AppointmentDocument, user_fee: UserFee) -> AppointmentView:
        """The appointment as the agenda read model holds it."""
        return cls.model_validate(
            {**doc.model_dump(exclude={"id"}), "appointment_id": doc.id, "user_fee": user_fee}
        )

    @classmethod
    def of_slot(
        cls,
        slot: Slot,
        appointment_id: uuid.UUID,
        citizen_id: uuid.UUID,
        user_fee: UserFee,
        cancel_reason: str | None = None,
    ) -> AppointmentView:
        """The appointment just booked in `slot`, or just cancelled by the citizen (a reason)."""
        cancelled = cancel_reason is not None
        return cls(
            appointment_id=appointment_id,
            slot_id=slot.id,
            citizen_id=citizen_id,
            practitioner_id=slot.practitioner_id,
            health_unit=slot.health_unit,
            starts_at=slot.starts_at,
            duration_minutes=slot.duration_minutes,
            status="cancelled" if cancelled else "booked",
            cancelled_by="citizen" if cancelled else None,
            cancel_reason=cancel_reason,
            user_fee=user_fee,
        )


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

    @classmethod
    def of(cls, doc: SlotDocument, user_fee: UserFee) -> FreeSlot:
        """A free slot of the agenda read model."""
        return cls(
            slot_id=uuid.UUID(doc.id),
            practitioner_id=doc.practitioner_id,
            health_unit=doc.health_unit,
            starts_at=doc.starts_at,
            duration_minutes=doc.duration_minutes,
            user_fee=user_fee,
        )


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

    @classmethod
    def of_document(cls, doc: SlotDocument, amount: Decimal, exempt: set[str]) -> AgendaSlot:
        """A slot of the agenda read model; `exempt` are the citizens exempt from the fee."""
        booking = doc.booking and BookingView(
            appointment_id=uuid.UUID(doc.booking.appointment_id),
            citizen_id=uuid.UUID(doc.booking.citizen_id),
            user_fee=UserFee.of(amount, doc.booking.citizen_id in exempt),
        )
        return cls(
            slot_id=uuid.UUID(doc.id),
            practitioner_id=doc.practitioner_id,
            health_unit=doc.health_unit,
            starts_at=doc.starts_at,
            duration_minutes=doc.duration_minutes,
            status=doc.status,
            booking=booking,
        )

    @classmethod
    def of_free(cls, slot: Slot) -> AgendaSlot:
        """A slot just opened, or just freed by a cancellation."""
        return cls(
            slot_id=slot.id,
            practitioner_id=slot.practitioner_id,
            health_unit=slot.health_unit,
            starts_at=slot.starts_at,
            duration_minutes=slot.duration_minutes,
            status="free",
        )


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

    @classmethod
    def of_document(cls, doc: RenewalDocument) -> RenewalView:
        """The request as the renewals read model holds it."""
        return cls.model_validate({**doc.model_dump(exclude={"id"}), "request_id": doc.id})

    @classmethod
    def of_request(cls, renewal: RenewalRequest) -> RenewalView:
        """The request as a command just left it."""
        prescription_id, number = renewal.prescription or (None, None)
        return cls.model_validate(
            {
                "request_id": renewal.id,
                "citizen_id": renewal.citizen_id,
                "practitioner_id": renewal.practitioner_id,
                "health_unit": renewal.health_unit,
                "medications": renewal.medications,
                "status": renewal.status,
                "requested_at": renewal.created_on,
                "items": renewal.items,
                "valid_until": renewal.valid_until,
                "reason": renewal.reason,
                "prescription_id": prescription_id,
                "prescription_number": number,
            }
        )


class ReferralStep(BaseModel):
    """One change of a referral: its status, when, and who made it (null: the platform)."""

    status: str
    at: datetime
    scheduled_for: date | None = None
    reason: str | None = None
    changed_by: str | None = None
    changed_by_role: str | None = None


class ReferralView(BaseModel):
    """A SIGA referral; days_left counts to the TMRG deadline while it waits to be scheduled.

    `history` is every change as the read model holds it (null in a command's answer).
    """

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
    history: list[ReferralStep] | None = None

    @classmethod
    def of_document(cls, doc: ReferralDocument, today: date) -> ReferralView:
        """The referral as the referrals read model holds it."""
        waiting = doc.status in UNSCHEDULED
        return cls.model_validate(
            {
                **doc.model_dump(exclude={"id"}),
                "referral_id": doc.id,
                "days_left": days_left(doc.deadline, today) if waiting else None,
            }
        )

    @classmethod
    def of_referral(cls, referral: Referral, today: date) -> ReferralView:
        """The referral as a command just left it."""
        waiting = referral.status in UNSCHEDULED
        return cls(
            referral_id=referral.id,
            citizen_id=referral.citizen_id,
            practitioner_id=referral.practitioner_id,
            specialty=referral.specialty,
            hospital=referral.hospital,
            priority=referral.priority,
            status=referral.status,
            registered_on=referral.registered_on,
            deadline=referral.deadline,
            scheduled_for=referral.scheduled_for,
            reason=referral.reason,
            days_left=days_left(referral.deadline, today) if waiting else None,
            tmrg_breached=referral.tmrg_breached,
        )
