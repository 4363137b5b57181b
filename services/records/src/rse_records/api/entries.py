"""Professionals' entries: writing needs no read consent and returns no clinical content."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from rse_records.api.dependencies import App, ItemId, Professional, reader_of
from rse_records.api.schemas import (
    AllergyEntry,
    CarePlanEntry,
    ConditionEntry,
    MedicationAdded,
    MedicationEntry,
    PrescriptionCreated,
    PrescriptionEntry,
    VaccinationAdded,
    VaccinationEntry,
)
from rse_records.domain.health_record import InvalidRecordEntry, PrescriptionLine
from rse_shared.eventstore import in_thread

entries = APIRouter(prefix="/records/{citizen_id}", tags=["entries"])


@entries.post("/health-summary/allergies", status_code=status.HTTP_204_NO_CONTENT)
async def add_allergy(
    citizen_id: uuid.UUID, body: AllergyEntry, app: App, principal: Professional
) -> None:
    """Add an allergy to the health summary."""
    await in_thread(app.add_allergy, citizen_id, body.allergy, reader_of(principal).practitioner_id)


@entries.post("/health-summary/chronic-conditions", status_code=status.HTTP_204_NO_CONTENT)
async def add_chronic_condition(
    citizen_id: uuid.UUID, body: ConditionEntry, app: App, principal: Professional
) -> None:
    """Add a chronic condition to the health summary."""
    await in_thread(
        app.add_chronic_condition, citizen_id, body.condition, reader_of(principal).practitioner_id
    )


@entries.post(
    "/health-summary/medications",
    status_code=status.HTTP_201_CREATED,
    response_model=MedicationAdded,
)
async def add_medication(
    citizen_id: uuid.UUID, body: MedicationEntry, app: App, principal: Professional
) -> MedicationAdded:
    """Add a chronic medication; its id stays the same through dosage changes."""
    medication_id = await in_thread(
        app.add_medication, citizen_id, body.name, body.dosage, reader_of(principal).practitioner_id
    )
    return MedicationAdded(medication_id=medication_id)


@entries.put("/health-summary/medications/{medication_id}", status_code=status.HTTP_204_NO_CONTENT)
async def change_medication(
    citizen_id: uuid.UUID,
    medication_id: ItemId,
    body: MedicationEntry,
    app: App,
    principal: Professional,
) -> None:
    """Change a chronic medication's name or dosage."""
    await in_thread(
        app.change_medication,
        citizen_id,
        medication_id,
        body.name,
        body.dosage,
        reader_of(principal).practitioner_id,
    )


@entries.delete(
    "/health-summary/medications/{medication_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def stop_medication(
    citizen_id: uuid.UUID, medication_id: ItemId, app: App, principal: Professional
) -> None:
    """Take a chronic medication off the health summary."""
    await in_thread(
        app.stop_medication, citizen_id, medication_id, reader_of(principal).practitioner_id
    )


@entries.post("/vaccinations", status_code=status.HTTP_201_CREATED, response_model=VaccinationAdded)
async def record_vaccination(
    citizen_id: uuid.UUID, body: VaccinationEntry, app: App, principal: Professional
) -> VaccinationAdded:
    """Record a vaccine dose on the bulletin."""
    reader = reader_of(principal)
    health_unit = body.health_unit or reader.health_unit
    if not health_unit:
        raise InvalidRecordEntry("the health unit where the dose was given is required")
    vaccination_id = await in_thread(
        app.record_vaccination,
        citizen_id,
        vaccine=body.vaccine,
        dose_number=body.dose_number,
        administered_on=body.administered_on,
        lot=body.lot,
        health_unit=health_unit,
        recorded_by=reader.practitioner_id,
    )
    return VaccinationAdded(vaccination_id=vaccination_id)


@entries.put("/care-plan", status_code=status.HTTP_204_NO_CONTENT)
async def update_care_plan(
    citizen_id: uuid.UUID, body: CarePlanEntry, app: App, principal: Professional
) -> None:
    """Set the individual care plan: goals, interventions, responsible, next review."""
    await in_thread(
        app.update_care_plan,
        citizen_id,
        goals=body.goals,
        interventions=body.interventions,
        responsible_professional=body.responsible_professional,
        next_review=body.next_review,
        updated_by=reader_of(principal).practitioner_id,
    )


@entries.post(
    "/prescriptions", status_code=status.HTTP_201_CREATED, response_model=PrescriptionCreated
)
async def issue_prescription(
    citizen_id: uuid.UUID, body: PrescriptionEntry, app: App, principal: Professional
) -> PrescriptionCreated:
    """Issue an e-prescription; its codes go to the citizen, never back to the prescriber."""
    lines = [
        PrescriptionLine(name=i.name, dosage=i.dosage, packs=i.packs, medication_id=i.medication_id)
        for i in body.items
    ]
    issued = await in_thread(
        app.issue_prescription,
        citizen_id,
        lines=lines,
        valid_until=body.valid_until,
        prescriber=reader_of(principal).practitioner_id,
    )
    return PrescriptionCreated(
        prescription_id=issued.prescription_id, prescription_number=issued.prescription_number
    )
