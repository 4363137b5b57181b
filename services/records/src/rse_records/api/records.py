"""Reads of a citizen's record: the citizen's own, or a professional's under consent."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rse_records.api.dependencies import (
    App,
    CitizenOrProfessional,
    Limit,
    Reason,
    TheCitizen,
    TheCitizenOrAuditor,
    authorise,
    visible_record,
)
from rse_records.api.schemas import (
    AccessView,
    CarePlanView,
    HealthSummaryView,
    PrescriptionView,
    RecordView,
    VaccinationView,
)
from rse_records.projections import NotVisible, accesses_of, prescriptions_of, vaccinations_of
from rse_shared.service import ReadModels

records = APIRouter(prefix="/records/{citizen_id}", tags=["records"])


@records.get("", response_model=RecordView)
async def whole_record(citizen_id: uuid.UUID, db: ReadModels, _: TheCitizen) -> RecordView:
    """The citizen's whole record, prescription codes included (the citizen only)."""
    record = await visible_record(db, citizen_id)
    return RecordView.of(
        record,
        await vaccinations_of(db, str(citizen_id)),
        await prescriptions_of(db, str(citizen_id), with_codes=True),
    )


@records.get("/health-summary", response_model=HealthSummaryView, responses={403: {}, 404: {}})
async def health_summary(
    citizen_id: uuid.UUID,
    app: App,
    db: ReadModels,
    principal: CitizenOrProfessional,
    reason: Reason,
) -> HealthSummaryView:
    """Allergies, chronic conditions and chronic medications (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "health_summary", reason)
    record = await visible_record(db, citizen_id)
    return HealthSummaryView.of(record.health_summary)


@records.get("/vaccinations", response_model=list[VaccinationView], responses={403: {}, 404: {}})
async def vaccinations(
    citizen_id: uuid.UUID,
    app: App,
    db: ReadModels,
    principal: CitizenOrProfessional,
    reason: Reason,
) -> list[VaccinationView]:
    """The vaccination bulletin, oldest dose first (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "vaccinations", reason)
    await visible_record(db, citizen_id)
    return [VaccinationView.of(v) for v in await vaccinations_of(db, str(citizen_id))]


@records.get("/care-plan", response_model=CarePlanView, responses={403: {}, 404: {}})
async def care_plan(
    citizen_id: uuid.UUID,
    app: App,
    db: ReadModels,
    principal: CitizenOrProfessional,
    reason: Reason,
) -> CarePlanView:
    """The individual care plan (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "care_plan", reason)
    record = await visible_record(db, citizen_id)
    if record.care_plan is None:
        raise NotVisible("the record has no care plan yet")
    return CarePlanView.of(record.care_plan)


@records.get("/prescriptions", response_model=list[PrescriptionView], responses={403: {}, 404: {}})
async def prescriptions(
    citizen_id: uuid.UUID,
    app: App,
    db: ReadModels,
    principal: CitizenOrProfessional,
    reason: Reason,
) -> list[PrescriptionView]:
    """E-prescriptions, newest first, without codes (the citizen, or by consent)."""
    await authorise(app, principal, citizen_id, "prescriptions", reason)
    await visible_record(db, citizen_id)
    return [
        PrescriptionView.of(p)
        for p in await prescriptions_of(db, str(citizen_id), with_codes=False)
    ]


@records.get("/accesses", response_model=list[AccessView])
async def accesses(
    citizen_id: uuid.UUID, db: ReadModels, _: TheCitizenOrAuditor, limit: Limit = 100
) -> list[AccessView]:
    """Who read (or was refused) the record, newest first (the citizen, or an auditor)."""
    return [AccessView.of(a) for a in await accesses_of(db, str(citizen_id), limit)]
