"""Integration events published by the requests service on `requests.events`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from rse_shared.contracts.envelope import IntegrationEvent, contract
from rse_shared.contracts.records import ChronicMedication

Priority = Literal["normal", "priority", "very_urgent"]


@contract
class AppointmentBooked(IntegrationEvent):
    """A citizen booked a slot with their family doctor."""

    appointment_id: uuid.UUID
    slot_id: uuid.UUID
    practitioner_id: str
    health_unit: str
    starts_at: datetime


@contract
class AppointmentCancelled(IntegrationEvent):
    """An appointment was cancelled (the reason, free text, is protected)."""

    protected_fields: ClassVar[tuple[str, ...]] = ("reason",)

    appointment_id: uuid.UUID
    slot_id: uuid.UUID
    cancelled_by: Literal["citizen", "professional", "system"]
    reason: str


@contract
class MedicationRenewalRequested(IntegrationEvent):
    """A citizen asked their family doctor to renew chronic medications from their summary."""

    protected_fields: ClassVar[tuple[str, ...]] = ("medications",)

    request_id: uuid.UUID
    medications: tuple[ChronicMedication, ...]
    practitioner_id: str
    health_unit: str


class RenewedItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    medication_id: str
    name: str
    dosage: str
    packs: int


@contract
class MedicationRenewalDecided(IntegrationEvent):
    """The family doctor approved (items with packs, validity) or rejected (reason) a renewal.

    On approval, records issues the e-prescription (PrescriptionIssued with this request id).
    """

    protected_fields: ClassVar[tuple[str, ...]] = ("items", "reason")

    request_id: uuid.UUID
    decision: Literal["approved", "rejected"]
    items: tuple[RenewedItem, ...]
    valid_until: date | None
    reason: str | None
    practitioner_id: str


@contract
class ReferralRegistered(IntegrationEvent):
    """A SIGA referral for a first hospital consultation, with its TMRG deadline.

    The specialty (and the hospital, which often names it) tell the citizen's condition:
    protected; the priority and the deadline stay in clear for the audit's TMRG checks.
    """

    protected_fields: ClassVar[tuple[str, ...]] = ("specialty", "hospital")

    referral_id: uuid.UUID
    specialty: str
    hospital: str
    priority: Priority
    registered_on: date
    deadline: date
    practitioner_id: str


@contract
class ReferralStatusChanged(IntegrationEvent):
    """A referral was scheduled (with a date), completed, cancelled, or breached its TMRG."""

    protected_fields: ClassVar[tuple[str, ...]] = ("reason",)

    referral_id: uuid.UUID
    status: Literal["scheduled", "completed", "cancelled", "tmrg_breached"]
    scheduled_for: date | None = None
    reason: str | None = None
    # Since referrals belong to hospitals: who changed it (the hospital's staff account and
    # role); None for the platform's own changes (TMRG breach, deregistration) and before.
    changed_by: str | None = None
    changed_by_role: str | None = None
