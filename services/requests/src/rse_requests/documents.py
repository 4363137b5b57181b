"""The documents of requests' read models, as the projections store them in MongoDB."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from rse_requests.domain.referral import ReferralStatus
from rse_requests.domain.renewal import RenewalStatus
from rse_shared.contracts import Priority
from rse_shared.readmodel import Day, Document, Instant


class FamilyDoctor(BaseModel):
    """The practitioner a citizen books with, and their health unit."""

    practitioner_id: str
    health_unit: str


class PatientDocument(Document):
    """A citizen as requests knows them (`_id` is the citizen id)."""

    family_doctor: FamilyDoctor | None = None
    chronic_medications: list[dict[str, str]] = []
    # Granted exemptions, valid_from / valid_until as ISO days (None = open).
    exemptions: list[dict[str, Any]] = []
    deregistered: bool = False

    @property
    def family_doctor_id(self) -> str | None:
        """The family doctor of an active citizen, if one is assigned."""
        if self.deregistered or self.family_doctor is None:
            return None
        return self.family_doctor.practitioner_id


class SlotBooking(BaseModel):
    """Who booked a slot."""

    appointment_id: str
    citizen_id: str


class SlotDocument(Document):
    """A slot of a practitioner's agenda (`_id` is the slot id)."""

    practitioner_id: str
    health_unit: str
    starts_at: Instant
    duration_minutes: int
    status: Literal["free", "booked"]
    booking: SlotBooking | None = None


class AppointmentDocument(Document):
    """A citizen's appointment (`_id` is the appointment id)."""

    slot_id: str
    citizen_id: str
    practitioner_id: str
    health_unit: str
    starts_at: Instant
    duration_minutes: int
    status: Literal["booked", "cancelled"]
    cancelled_by: str | None = None
    cancel_reason: str | None = None


class RenewalDocument(Document):
    """A medication renewal request (`_id` is the request id)."""

    citizen_id: str
    practitioner_id: str
    health_unit: str
    medications: list[dict[str, str]]
    status: RenewalStatus
    requested_at: Instant
    items: list[dict[str, Any]] = []
    valid_until: Day | None = None
    reason: str | None = None
    decided_at: Instant | None = None
    prescription_id: str | None = None
    prescription_number: str | None = None


class ReferralChangeEntry(BaseModel):
    """One step of a referral: its status, when, and who took it (None: the platform)."""

    status: ReferralStatus
    at: Instant
    scheduled_for: Day | None = None
    reason: str | None = None
    changed_by: str | None = None
    changed_by_role: str | None = None


class ReferralDocument(Document):
    """A SIGA referral (`_id` is the referral id), with every change of its status."""

    citizen_id: str
    practitioner_id: str
    health_unit: str
    specialty: str
    hospital: str
    priority: Priority
    status: ReferralStatus
    registered_on: Day
    deadline: Day
    scheduled_for: Day | None = None
    reason: str | None = None
    tmrg_breached: bool = False
    history: list[ReferralChangeEntry] = []
