"""Integration events published by the records service on `records.events`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rse_shared.contracts.consent import Category
from rse_shared.contracts.envelope import IntegrationEvent, contract
from rse_shared.contracts.sealed import SealedEvent

Decision = Literal["permit", "deny", "emergency"]


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
    """A professional read (or was refused) categories of a citizen's record.

    Metadata only: who, role, health unit, what categories, why, the decision and the
    consent it relied on — never the clinical content read.
    """

    access_id: uuid.UUID
    practitioner_id: str
    role: Literal["professional"]
    health_unit: str | None
    categories: tuple[Category, ...]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: uuid.UUID | None
    accessed_at: datetime


@contract
class HealthSummaryUpdated(IntegrationEvent):
    """Allergies, chronic conditions and chronic medications (with dosage) changed."""

    allergies: tuple[str, ...]
    chronic_conditions: tuple[str, ...]
    chronic_medications: tuple[ChronicMedication, ...]
    updated_by: str


@contract
class VaccinationRecorded(IntegrationEvent):
    vaccine: str
    dose_number: int
    administered_on: date
    lot: str
    health_unit: str
    recorded_by: str


@contract
class CarePlanUpdated(IntegrationEvent):
    goals: tuple[str, ...]
    interventions: tuple[str, ...]
    responsible_professional: str
    next_review: date | None


@contract
class PrescriptionIssued(IntegrationEvent):
    """An e-prescription (its access/dispensing and right-of-choice codes never leave records)."""

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
