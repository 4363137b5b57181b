"""What records' API takes and returns: request bodies, and the views of its read models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rse_records.read_models import PrescriptionDocument, RecordDocument, VaccinationDocument
from rse_shared.api import Strict
from rse_shared.contracts import Category
from rse_shared.contracts.consent import Purpose
from rse_shared.contracts.records import (
    Action,
    ActorRole,
    Decision,
    Relationship,
    ReviewOutcome,
)

Text = Annotated[str, Field(min_length=1, max_length=200)]
# Break-the-glass is reviewed by an auditor: the reason must say what happened.
MIN_EMERGENCY_WORDS = 3
IN_THE_BODY = "state an emergency in the body of POST .../emergency, never in the URL"


def a_sentence(reason: str) -> str:
    if len(reason.split()) < MIN_EMERGENCY_WORDS:
        raise ValueError(f"an emergency reason is a sentence of {MIN_EMERGENCY_WORDS}+ words")
    return reason


EmergencyReason = Annotated[
    str,
    Field(min_length=20, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$"),
    AfterValidator(a_sentence),
]


class ReadReason(BaseModel):
    """Why a professional reads: the purpose (an emergency goes in a body, never here)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    purpose: Purpose = "treatment"
    # Kept only to refuse it: a reason in the query string ends up in proxies' logs.
    emergency_reason: str | None = None

    @model_validator(mode="after")
    def _not_in_the_url(self) -> ReadReason:
        if self.emergency_reason is not None:
            raise ValueError(IN_THE_BODY)
        return self


class EmergencyRead(Strict):
    """Break-the-glass: why the professional must read without the citizen's consent."""

    reason: EmergencyReason
    purpose: Purpose = "treatment"


class ReviewBody(Strict):
    """An auditor's judgement of an emergency access."""

    outcome: ReviewOutcome
    note: Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x08\x7f]+$")]


# --- entries professionals write


class EntryBody(Strict):
    """An entry; `emergency_reason` writes without a care relationship (break-the-glass)."""

    emergency_reason: EmergencyReason | None = None


class AllergyEntry(EntryBody):
    allergy: Text


class ConditionEntry(EntryBody):
    condition: Text


class MedicationEntry(EntryBody):
    """A chronic medication and its dosage."""

    name: Text
    dosage: Text


class VaccinationEntry(EntryBody):
    """A dose given; the health unit defaults to the professional's."""

    vaccine: Text
    dose_number: Annotated[int, Field(ge=1, le=20)]
    administered_on: date
    lot: Annotated[str, Field(min_length=1, max_length=50)]
    health_unit: Text | None = None


class CarePlanEntry(EntryBody):
    """The individual care plan, replacing the previous one."""

    goals: Annotated[list[Text], Field(min_length=1, max_length=50)]
    interventions: Annotated[list[Text], Field(max_length=50)] = []
    responsible_professional: Text
    next_review: date | None = None


class PrescriptionItemEntry(Strict):
    """A medicine to prescribe; `medication_id` names one of the chronic medications."""

    medication_id: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = None
    name: Text
    dosage: Text
    packs: Annotated[int, Field(ge=1, le=10)]


class PrescriptionEntry(EntryBody):
    items: Annotated[list[PrescriptionItemEntry], Field(min_length=1, max_length=20)]
    valid_until: date


class MedicationAdded(BaseModel):
    medication_id: str


class VaccinationAdded(BaseModel):
    vaccination_id: uuid.UUID


class PrescriptionCreated(BaseModel):
    """The prescription's id and number; its codes are shown to the citizen only."""

    prescription_id: uuid.UUID
    prescription_number: str


# --- what reads return (views read their fields off the typed documents)


class View(BaseModel):
    """A response read off a read model's document (or one of its parts)."""

    model_config = ConfigDict(from_attributes=True)

    # The view's name for the document's `_id` (e.g. `vaccination_id`), if it shows it.
    id_field: ClassVar[str | None] = None

    @classmethod
    def of(cls, document: BaseModel) -> Self:
        """The view of `document`: its fields, and its id under the view's name for it."""
        fields = dict(document)
        if cls.id_field is not None:
            fields[cls.id_field] = fields.pop("id")
        return cls.model_validate(fields, from_attributes=True)


class MedicationView(View):
    medication_id: str
    name: str
    dosage: str


class HealthSummaryView(View):
    """Allergies, chronic conditions and chronic medications with their dosage."""

    allergies: list[str]
    chronic_conditions: list[str]
    chronic_medications: list[MedicationView]
    updated_by: str | None = None
    updated_at: datetime | None = None


class VaccinationView(View):
    id_field = "vaccination_id"

    vaccination_id: str
    vaccine: str
    dose_number: int
    administered_on: date
    lot: str
    health_unit: str
    recorded_by: str


class CarePlanView(View):
    goals: list[str]
    interventions: list[str]
    responsible_professional: str
    next_review: date | None
    updated_by: str
    updated_at: datetime


class ItemView(View):
    medication_id: str
    name: str
    dosage: str
    packs: int


class PrescriptionView(View):
    """An e-prescription without its codes (what a professional sees)."""

    id_field = "prescription_id"

    prescription_id: str
    prescription_number: str
    items: list[ItemView]
    valid_until: date
    prescriber: str
    issued_at: datetime
    renewal_request_id: str | None = None


class PrescriptionCodesView(View):
    """The codes the citizen gives at the pharmacy."""

    access_code: str
    choice_code: str


class CitizensPrescriptionView(PrescriptionView):
    """An e-prescription with its access-and-dispensing and right-of-choice codes."""

    codes: PrescriptionCodesView


class RecordView(BaseModel):
    """The citizen's whole record, as they see it."""

    citizen_id: str
    status: str
    health_summary: HealthSummaryView
    vaccinations: list[VaccinationView]
    care_plan: CarePlanView | None
    prescriptions: list[CitizensPrescriptionView]

    @classmethod
    def of(
        cls,
        record: RecordDocument,
        vaccinations: list[VaccinationDocument],
        prescriptions: list[PrescriptionDocument],
    ) -> Self:
        return cls(
            citizen_id=record.id,
            status=record.status,
            health_summary=HealthSummaryView.of(record.health_summary),
            vaccinations=[VaccinationView.of(v) for v in vaccinations],
            care_plan=CarePlanView.of(record.care_plan) if record.care_plan else None,
            prescriptions=[CitizensPrescriptionView.of(p) for p in prescriptions],
        )


class AuthorisedPatient(BaseModel):
    """A citizen whose consent in force lets the caller read these categories."""

    citizen_id: str
    full_name: str | None
    sns_number: str | None
    categories: list[Category]


class EntryRefView(BaseModel):
    id: str
    kind: str


class AccessView(View):
    """One access to the record (read, write, list): metadata, never the content."""

    id_field = "access_id"

    access_id: str
    practitioner_id: str
    health_unit: str | None
    categories: list[Category]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: str | None
    accessed_at: datetime
    action: Action = "read"
    role: ActorRole = "professional"
    actor_id: str | None = None
    entries: list[EntryRefView] = []
    relationship: Relationship | None = None


class ReviewView(BaseModel):
    outcome: ReviewOutcome
    note: str
    by: str
    at: datetime


class EmergencyView(View):
    """An emergency access in the auditors' queue, with its review once there is one."""

    id_field = "access_id"

    access_id: str
    citizen_id: str
    practitioner_id: str
    health_unit: str | None
    action: Action
    categories: list[Category]
    emergency_reason: str | None
    accessed_at: datetime
    status: Literal["unreviewed", "reviewed"]
    review: ReviewView | None = None


class QuotaAlertView(View):
    """A professional refused an emergency access beyond the day's quota."""

    id_field = "alert_id"

    alert_id: str
    citizen_id: str
    practitioner_id: str
    day: date
    quota: int
    attempted_at: datetime
