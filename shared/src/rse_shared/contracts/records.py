"""Integration events published by the records service on `records.events`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from rse_shared.contracts.consent import Category
from rse_shared.contracts.envelope import IntegrationEvent, contract
from rse_shared.contracts.sealed import SealedEvent

Decision = Literal["permit", "deny", "emergency"]
Action = Literal["read", "write", "list", "review"]
ActorRole = Literal["professional", "hospital_staff", "operator", "auditor"]
Relationship = Literal["family_doctor", "health_unit", "consent", "referral_hospital", "emergency"]
ReviewOutcome = Literal["justified", "unjustified"]


class EntryRef(BaseModel):
    """An entry of the record an access viewed or wrote: its id and kind, never its value."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: str


class ChronicMedication(BaseModel):
    """One chronic medication on the health summary."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    medication_id: str
    name: str
    dosage: str


class PrescriptionItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    medication_id: str
    name: str
    dosage: str
    packs: int


@contract
class HealthRecordOpened(IntegrationEvent):
    """records opened the citizen's health record (after CitizenRegistered)."""

    record_id: uuid.UUID


@contract
class RecordAccessed(IntegrationEvent):
    """Someone read, wrote or listed (or was refused) categories of a citizen's record.

    Metadata only: who, role, health unit, what categories and entries (ids and kinds),
    why, the decision, the consent or care relationship it relied on — never the clinical
    content. Events before writes were recorded carry the defaults: a professional's read.
    The emergency reason is free text that may describe the patient's state: protected.
    """

    protected_fields: ClassVar[tuple[str, ...]] = ("emergency_reason",)

    access_id: uuid.UUID
    practitioner_id: str
    role: ActorRole
    health_unit: str | None
    categories: tuple[Category, ...]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: uuid.UUID | None
    accessed_at: datetime
    action: Action = "read"
    actor_id: str | None = None
    entries: tuple[EntryRef, ...] = ()
    relationship: Relationship | None = None


@contract
class EmergencyAccessReviewed(IntegrationEvent):
    """An auditor judged an emergency (break-the-glass) access justified or not."""

    protected_fields: ClassVar[tuple[str, ...]] = ("note",)

    access_id: uuid.UUID
    outcome: ReviewOutcome
    note: str
    reviewed_by: str
    reviewed_at: datetime


@contract
class EmergencyQuotaExceeded(IntegrationEvent):
    """A professional asked for more emergency accesses in a day than allowed: refused."""

    practitioner_id: str
    day: date
    quota: int
    attempted_at: datetime


@contract
class HealthSummaryUpdated(IntegrationEvent):
    """Allergies, chronic conditions and chronic medications (with dosage) changed."""

    protected_fields: ClassVar[tuple[str, ...]] = (
        "allergies",
        "chronic_conditions",
        "chronic_medications",
    )

    allergies: tuple[str, ...]
    chronic_conditions: tuple[str, ...]
    chronic_medications: tuple[ChronicMedication, ...]
    updated_by: str


@contract
class VaccinationRecorded(IntegrationEvent):
    """A dose of a vaccine was given (which vaccine, dose, day and lot are protected)."""

    protected_fields: ClassVar[tuple[str, ...]] = (
        "vaccine",
        "dose_number",
        "administered_on",
        "lot",
    )

    vaccine: str
    dose_number: int
    administered_on: date
    lot: str
    health_unit: str
    recorded_by: str


@contract
class CarePlanUpdated(IntegrationEvent):
    """The citizen's care plan changed (its goals and interventions are protected)."""

    protected_fields: ClassVar[tuple[str, ...]] = ("goals", "interventions")

    goals: tuple[str, ...]
    interventions: tuple[str, ...]
    responsible_professional: str
    next_review: date | None


@contract
class PrescriptionIssued(IntegrationEvent):
    """An e-prescription (its access/dispensing and right-of-choice codes never leave records)."""

    protected_fields: ClassVar[tuple[str, ...]] = ("prescription_number", "items")

    prescription_id: uuid.UUID
    prescription_number: str
    items: tuple[PrescriptionItem, ...]
    valid_until: date
    prescriber: str
    renewal_request_id: uuid.UUID | None = None


@contract
class PrescriptionCodesSealed(SealedEvent):
    """An e-prescription's codes, sealed to notifications; on `records.prescription-codes` only.

    Sealed payload: `prescription_number`, `access_code`, `choice_code`.
    """

    channel_subject = "prescription-codes"

    prescription_id: uuid.UUID
    valid_until: date
    renewal_request_id: uuid.UUID | None = None


@contract
class RecordReadByProxy(IntegrationEvent):
    """Someone acting for the citizen (named in the envelope's `proxy`) read `part` of their
    record; the citizen sees it in their history."""

    read_id: uuid.UUID
    part: str
    read_at: datetime
