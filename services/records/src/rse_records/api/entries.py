"""Entries: written under a care relationship (or a stated emergency), never returning content.

Every refusal for want of a relationship is the same 403, whether the record exists, is
closed or was never opened: the relationship is decided before the record is looked at.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from rse_records.api.dependencies import App, ItemId, TheWriter, check_writer_emergency
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
from rse_records.application import Dose, Plan
from rse_records.domain.health_record import InvalidRecordEntry, PrescriptionLine
from rse_shared.auth import CurrentPrincipal
from rse_shared.eventstore import in_thread

entries = APIRouter(prefix="/records/{citizen_id}", tags=["entries"], responses={403: {}})


@entries.post("/health-summary/allergies", status_code=status.HTTP_204_NO_CONTENT)
async def add_allergy(
    citizen_id: uuid.UUID,
    body: AllergyEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> None:
    """Add an allergy to the health summary."""
    check_writer_emergency(principal, body.emergency_reason)
    await in_thread(app.add_allergy, citizen_id, body.allergy, writer, body.emergency_reason)


@entries.post("/health-summary/chronic-conditions", status_code=status.HTTP_204_NO_CONTENT)
async def add_chronic_condition(
    citizen_id: uuid.UUID,
    body: ConditionEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> None:
    """Add a chronic condition to the health summary."""
    check_writer_emergency(principal, body.emergency_reason)
    await in_thread(
        app.add_chronic_condition, citizen_id, body.condition, writer, body.emergency_reason
    )


@entries.post(
    "/health-summary/medications",
    status_code=status.HTTP_201_CREATED,
    response_model=MedicationAdded,
)
async def add_medication(
    citizen_id: uuid.UUID,
    body: MedicationEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> MedicationAdded:
    """Add a chronic medication; its id stays the same through dosage changes."""
    check_writer_emergency(principal, body.emergency_reason)
    medication_id = await in_thread(
        app.add_medication, citizen_id, body.name, body.dosage, writer, body.emergency_reason
    )
    return MedicationAdded(medication_id=medication_id)


@entries.put("/health-summary/medications/{medication_id}", status_code=status.HTTP_204_NO_CONTENT)
async def change_medication(
    citizen_id: uuid.UUID,
    medication_id: ItemId,
    body: MedicationEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> None:
    """Change a chronic medication's name or dosage."""
    check_writer_emergency(principal, body.emergency_reason)
    await in_thread(
        app.change_medication,
        citizen_id,
        medication_id,
        body.name,
        body.dosage,
        writer,
        body.emergency_reason,
    )


@entries.delete(
    "/health-summary/medications/{medication_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def stop_medication(
    citizen_id: uuid.UUID, medication_id: ItemId, app: App, writer: TheWriter
) -> None:
    """Take a chronic medication off the health summary (never in an emergency)."""
    await in_thread(app.stop_medication, citizen_id, medication_id, writer)


@entries.post("/vaccinations", status_code=status.HTTP_201_CREATED, response_model=VaccinationAdded)
async def record_vaccination(
    citizen_id: uuid.UUID,
    body: VaccinationEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> VaccinationAdded:
    """Record a vaccine dose on the bulletin."""
    check_writer_emergency(principal, body.emergency_reason)
    health_unit = body.health_unit or writer.health_unit or writer.hospital
    if not health_unit:
        raise InvalidRecordEntry("the health unit where the dose was given is required")
    dose = Dose(body.vaccine, body.dose_number, body.administered_on, body.lot, health_unit)
    vaccination_id = await in_thread(
        app.record_vaccination, citizen_id, dose, writer, body.emergency_reason
    )
    return VaccinationAdded(vaccination_id=vaccination_id)


@entries.put("/care-plan", status_code=status.HTTP_204_NO_CONTENT)
async def update_care_plan(
    citizen_id: uuid.UUID,
    body: CarePlanEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> None:
    """Set the individual care plan: goals, interventions, responsible, next review."""
    check_writer_emergency(principal, body.emergency_reason)
    plan = Plan(body.goals, body.interventions, body.responsible_professional, body.next_review)
    await in_thread(app.update_care_plan, citizen_id, plan, writer, body.emergency_reason)


@entries.post(
    "/prescriptions", status_code=status.HTTP_201_CREATED, response_model=PrescriptionCreated
)
async def issue_prescription(
    citizen_id: uuid.UUID,
    body: PrescriptionEntry,
    app: App,
    writer: TheWriter,
    principal: CurrentPrincipal,
) -> PrescriptionCreated:
    """Issue an e-prescription; its codes go to the citizen, never back to the prescriber."""
    check_writer_emergency(principal, body.emergency_reason)
    lines = [
        PrescriptionLine(name=i.name, dosage=i.dosage, packs=i.packs, medication_id=i.medication_id)
        for i in body.items
    ]
    issued = await in_thread(
        app.issue_prescription,
        citizen_id,
        lines=lines,
        valid_until=body.valid_until,
        by=writer,
        emergency=body.emergency_reason,
    )
    return PrescriptionCreated(
        prescription_id=issued.prescription_id, prescription_number=issued.prescription_number
    )
