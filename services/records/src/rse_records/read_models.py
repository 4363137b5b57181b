"""The documents of records' read models, typed: what the projections write and queries return.

Instants are BSON datetimes in UTC, calendar dates `YYYY-MM-DD` strings (rse_shared.readmodel).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import Action, ActorRole, Decision, Relationship, ReviewOutcome
from rse_shared.readmodel import Day, Document, Instant

# Clinical content never leaves records' API for a professional with the codes in it.
CODES = "codes"


class Part(BaseModel):
    """A part nested in a document."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ChronicMedication(Part):
    medication_id: str
    name: str
    dosage: str


class HealthSummary(Part):
    """Allergies, chronic conditions and chronic medications; who changed them last."""

    allergies: list[str] = []
    chronic_conditions: list[str] = []
    chronic_medications: list[ChronicMedication] = []
    updated_by: str | None = None
    updated_at: Instant | None = None


class CarePlan(Part):
    goals: list[str]
    interventions: list[str]
    responsible_professional: str
    next_review: Day | None
    updated_by: str
    updated_at: Instant


class RecordDocument(Document):
    """One citizen's record (`_id`: the citizen id) with its summary and care plan."""

    record_id: str
    status: Literal["open", "closed"]
    sns_number: str
    full_name: str
    opened_at: Instant
    health_summary: HealthSummary = HealthSummary()
    care_plan: CarePlan | None = None
    closed_reason: str | None = None


class VaccinationDocument(Document):
    """One dose on a citizen's bulletin (`_id`: the vaccination id)."""

    citizen_id: str
    vaccine: str
    dose_number: int
    administered_on: Day
    lot: str
    health_unit: str
    recorded_by: str


class PrescribedItem(Part):
    medication_id: str
    name: str
    dosage: str
    packs: int


class PrescriptionCodes(Part):
    """The codes the citizen gives at the pharmacy."""

    access_code: str
    choice_code: str


class PrescriptionDocument(Document):
    """One e-prescription (`_id`: its id); `codes` is None where the query left them out."""

    citizen_id: str
    prescription_number: str
    items: list[PrescribedItem]
    valid_until: Day
    prescriber: str
    issued_at: Instant
    renewal_request_id: str | None = None
    codes: PrescriptionCodes | None = None


class ConsentDocument(Document):
    """A consent records holds (`_id`: the consent id); an ending may arrive before its grant."""

    citizen_id: str
    grantee: str | None = None
    categories: list[Category] = []
    purpose: str | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    revoked: bool = False
    expired: bool = False


class EntryRef(Part):
    id: str
    kind: str


class AccessDocument(Document):
    """One professional read of a record (`_id`: the access id): metadata, never content."""

    citizen_id: str
    practitioner_id: str
    health_unit: str | None
    categories: list[Category]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: str | None
    accessed_at: Instant
    action: Action = "read"
    role: ActorRole = "professional"
    actor_id: str | None = None
    entries: list[EntryRef] = []
    relationship: Relationship | None = None


class Review(Part):
    outcome: ReviewOutcome
    note: str
    by: str
    at: Instant


class EmergencyDocument(Document):
    """An emergency access in the auditors' queue (`_id`: the access id)."""

    citizen_id: str
    practitioner_id: str
    health_unit: str | None
    action: Action = "read"
    categories: list[Category]
    emergency_reason: str | None
    accessed_at: Instant
    status: Literal["unreviewed", "reviewed"] = "unreviewed"
    review: Review | None = None


class QuotaAlertDocument(Document):
    """A refused emergency access beyond the day's quota, for auditors (`_id`: event id)."""

    citizen_id: str
    practitioner_id: str
    day: Day
    quota: int
    attempted_at: Instant


def grantee_key(kind: str, grantee_id: str | None) -> str:
    """One indexable key per grantee: `professional:P-1`, `health_unit:USF A`, `all_sns:`."""
    return f"{kind}:{grantee_id or ''}"


def grantee_keys(practitioner_id: str, health_unit: str | None) -> list[str]:
    """The grantee keys that name this professional or their unit (all-SNS names no one)."""
    keys = [grantee_key("professional", practitioner_id)]
    return keys + ([grantee_key("health_unit", health_unit)] if health_unit else [])
