"""Records' HTTP API: citizens read their record; professionals write, and read by consent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.database import AsyncDatabase

from rse_records.application import Reader, RecordsApplication
from rse_records.domain.health_record import InvalidRecordEntry, PrescriptionLine
from rse_records.projections import (
    accesses_of,
    candidate_patients,
    find_record,
    prescriptions_of,
    records_of,
    vaccinations_of,
)
from rse_shared.auth import Forbidden, Principal, require_roles
from rse_shared.contracts import Category
from rse_shared.contracts.consent import Purpose
from rse_shared.contracts.records import Decision
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

Text = Annotated[str, Field(min_length=1, max_length=200)]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=500)]
# The same answer whether or not the record exists, so a refusal reveals nothing.
NO_CONSENT = "no consent of the citizen covers this read"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadReason(BaseModel):
    """Why a professional reads: the purpose, or a stated emergency (break-the-glass)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    purpose: Purpose = "treatment"
    emergency_reason: Annotated[str | None, Field(min_length=1, max_length=500)] = None


# --- entries professionals write


class AllergyEntry(Strict):
    allergy: Text


class ConditionEntry(Strict):
    condition: Text


class MedicationEntry(Strict):
    """A chronic medication and its dosage."""

    name: Text
    dosage: Text


class VaccinationEntry(Strict):
    """A dose given; the health unit defaults to the professional's."""

    vaccine: Text
    dose_number: Annotated[int, Field(ge=1, le=20)]
    administered_on: date
    lot: Annotated[str, Field(min_length=1, max_length=50)]
    health_unit: Text | None = None


class CarePlanEntry(Strict):
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


class PrescriptionEntry(Strict):
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


# --- what reads return


class MedicationView(BaseModel):
    medication_id: str
    name: str
    dosage: str


class HealthSummaryView(BaseModel):
    """Allergies, chronic conditions and chronic medications with their dosage."""

    allergies: list[str]
    chronic_conditions: list[str]
    chronic_medications: list[MedicationView]
    updated_by: str | None = None
    updated_at: datetime | None = None


class VaccinationView(BaseModel):
    vaccination_id: str
    vaccine: str
    dose_number: int
    administered_on: date
    lot: str
    health_unit: str
    recorded_by: str


class CarePlanView(BaseModel):
    goals: list[str]
    interventions: list[str]
    responsible_professional: str
    next_review: date | None
    updated_by: str
    updated_at: datetime


class ItemView(BaseModel):
    medication_id: str
    name: str
    dosage: str
    packs: int


class PrescriptionView(BaseModel):
    """An e-prescription without its codes (what a professional sees)."""

    prescription_id: str
    prescription_number: str
    items: list[ItemView]
    valid_until: date
    prescriber: str
    issued_at: datetime
    renewal_request_id: str | None = None


class PrescriptionCodesView(BaseModel):
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


class AuthorisedPatient(BaseModel):
    """A citizen whose consent in force lets the caller read these categories."""

    citizen_id: str
    full_name: str | None
    sns_number: str | None
    categories: list[Category]


class AccessView(BaseModel):
    """One professional read of the record: metadata, never the content read."""

    access_id: str
    practitioner_id: str
    health_unit: str | None
    categories: list[Category]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: str | None
    accessed_at: datetime


class NotVisible(LookupError):
    """Not (yet) in the read model."""


# --- dependencies


def get_app(request: Request) -> RecordsApplication:
    app: RecordsApplication = request.app.state.app
    return app


App = Annotated[RecordsApplication, Depends(get_app)]
Professional = Annotated[Principal, Depends(require_roles("professional"))]
CitizenOrProfessional = Annotated[Principal, Depends(require_roles("citizen", "professional"))]
Citizen = Annotated[Principal, Depends(require_roles("citizen"))]
CitizenOrAuditor = Annotated[Principal, Depends(require_roles("citizen", "auditor"))]
Reason = Annotated[ReadReason, Query()]

records = APIRouter(prefix="/records/{citizen_id}", tags=["records"])
entries = APIRouter(prefix="/records/{citizen_id}", tags=["entries"])
professionals = APIRouter(prefix="/professionals/me", tags=["professionals"])


def reader_of(principal: Principal) -> Reader:
    if not principal.practitioner_id:
        raise Forbidden("the access token names no practitioner")
    return Reader(principal.practitioner_id, principal.health_unit)


def check_self(principal: Principal, citizen_id: uuid.UUID) -> None:
    if not principal.is_citizen(citizen_id):
        raise Forbidden("a citizen may only see their own record")


async def authorise(app: RecordsApplication, principal: Principal, citizen_id: uuid.UUID,
                    category: Category, reason: ReadReason) -> None:
    """The citizen reads their own record; a professional as the access decision says."""
    if principal.role == "citizen":
        check_self(principal, citizen_id)
        return
    decision = await in_thread(app.authorise_read, citizen_id, reader_of(principal),
                               [category], reason.purpose, reason.emergency_reason)
    if not decision.allowed:
        raise Forbidden(NO_CONSENT)


async def visible_record(db: AsyncDatabase[Any], citizen_id: uuid.UUID) -> dict[str, Any]:
    doc = await find_record(db, str(citizen_id))
    if doc is None:
        raise NotVisible("no health record for that citizen")
    return doc


def with_id(doc: dict[str, Any], id_field: str) -> dict[str, Any]:
    return {id_field: doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}


# --- reads


@records.get("", response_model=RecordView)
async def whole_record(citizen_id: uuid.UUID, db: ReadModels, principal: Citizen) -> RecordView:
    """The citizen's whole record, prescription codes included (the citizen only)."""
    check_self(principal, citizen_id)
    doc = await visible_record(db, citizen_id)
    vaccinations = await vaccinations_of(db, str(citizen_id))
    prescriptions = await prescriptions_of(db, str(citizen_id), with_codes=True)
    return RecordView(
        citizen_id=doc["_id"], status=doc["status"],
        health_summary=HealthSummaryView(**doc["health_summary"]),
        vaccinations=[VaccinationView(**with_id(v, "vaccination_id")) for v in vaccinations],
        care_plan=CarePlanView(**doc["care_plan"]) if doc.get("care_plan") else None,
        prescriptions=[CitizensPrescriptionView(**with_id(p, "prescription_id"))
                       for p in prescriptions])


@records.get("/health-summary", response_model=HealthSummaryView, responses={403: {}, 404: {}})
async def health_summary(citizen_id: uuid.UUID, app: App, db: ReadModels,
                         principal: CitizenOrProfessional, reason: Reason) -> HealthSummaryView:
    """Allergies, chronic conditions and chronic medications (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "health_summary", reason)
    doc = await visible_record(db, citizen_id)
    return HealthSummaryView(**doc["health_summary"])


@records.get("/vaccinations", response_model=list[VaccinationView],
             responses={403: {}, 404: {}})
async def vaccinations(citizen_id: uuid.UUID, app: App, db: ReadModels,
                       principal: CitizenOrProfessional, reason: Reason) -> list[VaccinationView]:
    """The vaccination bulletin, oldest dose first (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "vaccinations", reason)
    await visible_record(db, citizen_id)
    return [VaccinationView(**with_id(v, "vaccination_id"))
            for v in await vaccinations_of(db, str(citizen_id))]


@records.get("/care-plan", response_model=CarePlanView, responses={403: {}, 404: {}})
async def care_plan(citizen_id: uuid.UUID, app: App, db: ReadModels,
                    principal: CitizenOrProfessional, reason: Reason) -> CarePlanView:
    """The individual care plan (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "care_plan", reason)
    doc = await visible_record(db, citizen_id)
    if not doc.get("care_plan"):
        raise NotVisible("the record has no care plan yet")
    return CarePlanView(**doc["care_plan"])


@records.get("/prescriptions", response_model=list[PrescriptionView],
             responses={403: {}, 404: {}})
async def prescriptions(citizen_id: uuid.UUID, app: App, db: ReadModels,
                        principal: CitizenOrProfessional,
                        reason: Reason) -> list[PrescriptionView]:
    """E-prescriptions, newest first, without codes (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "prescriptions", reason)
    await visible_record(db, citizen_id)
    return [PrescriptionView(**with_id(p, "prescription_id"))
            for p in await prescriptions_of(db, str(citizen_id), with_codes=False)]


@records.get("/accesses", response_model=list[AccessView])
async def accesses(citizen_id: uuid.UUID, db: ReadModels, principal: CitizenOrAuditor,
                   limit: Limit = 100) -> list[AccessView]:
    """Who read (or was refused) the record, newest first (the citizen, or an auditor)."""
    if principal.role == "citizen":
        check_self(principal, citizen_id)
    return [AccessView(**with_id(a, "access_id"))
            for a in await accesses_of(db, str(citizen_id), limit)]


@professionals.get("/patients", response_model=list[AuthorisedPatient])
async def my_patients(app: App, db: ReadModels, principal: Professional,
                      limit: Limit = 100) -> list[AuthorisedPatient]:
    """Citizens whose consent in force covers the caller, and the categories it covers."""
    reader = reader_of(principal)
    candidates = await candidate_patients(db, reader.practitioner_id, reader.health_unit, limit)
    # The directory may lag a revocation: each candidate is confirmed by the event store.
    authorised = await in_thread(confirmed, app, candidates, reader)
    names = await records_of(db, list(authorised))
    return [AuthorisedPatient(citizen_id=citizen, categories=sorted(categories),
                              full_name=names.get(citizen, {}).get("full_name"),
                              sns_number=names.get(citizen, {}).get("sns_number"))
            for citizen, categories in authorised.items()]


def confirmed(app: RecordsApplication, citizens: list[str],
              reader: Reader) -> dict[str, frozenset[Category]]:
    found = {c: app.categories_authorised(uuid.UUID(c), reader) for c in citizens}
    return {citizen: categories for citizen, categories in found.items() if categories}


# --- entries (professionals; writing needs no read consent and returns no content)


@entries.post("/health-summary/allergies", status_code=status.HTTP_204_NO_CONTENT)
async def add_allergy(citizen_id: uuid.UUID, body: AllergyEntry, app: App,
                      principal: Professional) -> None:
    """Add an allergy to the health summary."""
    await in_thread(app.add_allergy, citizen_id, body.allergy, reader_of(principal).practitioner_id)


@entries.post("/health-summary/chronic-conditions", status_code=status.HTTP_204_NO_CONTENT)
async def add_chronic_condition(citizen_id: uuid.UUID, body: ConditionEntry, app: App,
                                principal: Professional) -> None:
    """Add a chronic condition to the health summary."""
    await in_thread(app.add_chronic_condition, citizen_id, body.condition,
                    reader_of(principal).practitioner_id)


@entries.post("/health-summary/medications", status_code=status.HTTP_201_CREATED,
              response_model=MedicationAdded)
async def add_medication(citizen_id: uuid.UUID, body: MedicationEntry, app: App,
                         principal: Professional) -> MedicationAdded:
    """Add a chronic medication; its id stays the same through dosage changes."""
    medication_id = await in_thread(app.add_medication, citizen_id, body.name, body.dosage,
                                    reader_of(principal).practitioner_id)
    return MedicationAdded(medication_id=medication_id)


@entries.put("/health-summary/medications/{medication_id}",
             status_code=status.HTTP_204_NO_CONTENT)
async def change_medication(citizen_id: uuid.UUID, medication_id: ItemId, body: MedicationEntry,
                            app: App, principal: Professional) -> None:
    """Change a chronic medication's name or dosage."""
    await in_thread(app.change_medication, citizen_id, medication_id, body.name, body.dosage,
                    reader_of(principal).practitioner_id)


@entries.delete("/health-summary/medications/{medication_id}",
                status_code=status.HTTP_204_NO_CONTENT)
async def stop_medication(citizen_id: uuid.UUID, medication_id: ItemId, app: App,
                          principal: Professional) -> None:
    """Take a chronic medication off the health summary."""
    await in_thread(app.stop_medication, citizen_id, medication_id,
                    reader_of(principal).practitioner_id)


@entries.post("/vaccinations", status_code=status.HTTP_201_CREATED,
              response_model=VaccinationAdded)
async def record_vaccination(citizen_id: uuid.UUID, body: VaccinationEntry, app: App,
                             principal: Professional) -> VaccinationAdded:
    """Record a vaccine dose on the bulletin."""
    reader = reader_of(principal)
    health_unit = body.health_unit or reader.health_unit
    if not health_unit:
        raise InvalidRecordEntry("the health unit where the dose was given is required")
    vaccination_id = await in_thread(
        app.record_vaccination, citizen_id, vaccine=body.vaccine, dose_number=body.dose_number,
        administered_on=body.administered_on, lot=body.lot, health_unit=health_unit,
        recorded_by=reader.practitioner_id)
    return VaccinationAdded(vaccination_id=vaccination_id)


@entries.put("/care-plan", status_code=status.HTTP_204_NO_CONTENT)
async def update_care_plan(citizen_id: uuid.UUID, body: CarePlanEntry, app: App,
                           principal: Professional) -> None:
    """Set the individual care plan: goals, interventions, responsible, next review."""
    await in_thread(app.update_care_plan, citizen_id, goals=body.goals,
                    interventions=body.interventions,
                    responsible_professional=body.responsible_professional,
                    next_review=body.next_review,
                    updated_by=reader_of(principal).practitioner_id)


@entries.post("/prescriptions", status_code=status.HTTP_201_CREATED,
              response_model=PrescriptionCreated)
async def issue_prescription(citizen_id: uuid.UUID, body: PrescriptionEntry, app: App,
                             principal: Professional) -> PrescriptionCreated:
    """Issue an e-prescription; its codes go to the citizen, never back to the prescriber."""
    lines = [PrescriptionLine(name=i.name, dosage=i.dosage, packs=i.packs,
                              medication_id=i.medication_id) for i in body.items]
    issued = await in_thread(app.issue_prescription, citizen_id, lines=lines,
                             valid_until=body.valid_until,
                             prescriber=reader_of(principal).practitioner_id)
    return PrescriptionCreated(prescription_id=issued.prescription_id,
                               prescription_number=issued.prescription_number)
