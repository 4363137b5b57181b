"""Reads of a citizen's record: the citizen's own, a professional's under consent, or in an
emergency (break-the-glass: POST with the reason in the body, reviewed by an auditor)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends

from rse_records.api.dependencies import (
    App,
    CitizenOrProfessional,
    Limit,
    Professional,
    Reason,
    TheCitizen,
    TheCitizenOrAuditor,
    authorise,
    visible_record,
)
from rse_records.api.proxy_reads import proxy_read_recorded
from rse_records.api.schemas import (
    AccessView,
    CarePlanView,
    EmergencyRead,
    HealthSummaryView,
    PrescriptionView,
    ReadReason,
    RecordView,
    VaccinationView,
)
from rse_records.domain.entry_refs import CARE_PLAN_ID, ref, refs, summary_refs
from rse_records.projections import (
    NotVisible,
    accesses_of,
    find_record,
    prescriptions_of,
    vaccinations_of,
)
from rse_shared.auth import Principal
from rse_shared.eventstore import keyring_of
from rse_shared.service import ReadModels

records = APIRouter(
    prefix="/records/{citizen_id}",
    tags=["records"],
    dependencies=[Depends(proxy_read_recorded)],
)
READ: dict[int | str, dict[str, Any]] = {403: {}, 404: {}, 422: {}}
EMERGENCY: dict[int | str, dict[str, Any]] = {
    **READ,
    429: {"description": "the day's emergency accesses are used up"},
}


class Why:
    """Why a read happens: a purpose, and the emergency reason of a break-the-glass."""

    def __init__(self, reason: ReadReason, emergency: str | None = None) -> None:
        self.reason = reason
        self.emergency = emergency

    @classmethod
    def of(cls, body: EmergencyRead) -> Why:
        return cls(ReadReason(purpose=body.purpose), body.reason)


@records.get("", response_model=RecordView)
async def whole_record(
    citizen_id: uuid.UUID, app: App, db: ReadModels, _: TheCitizen
) -> RecordView:
    """The citizen's whole record, prescription codes included (the citizen only)."""
    record = await visible_record(db, citizen_id)
    prescriptions = await prescriptions_of(
        db, str(citizen_id), with_codes=True, keyring=keyring_of(app)
    )
    return RecordView.of(record, await vaccinations_of(db, str(citizen_id)), prescriptions)


async def read_health_summary(
    citizen_id: uuid.UUID, app: App, db: ReadModels, principal: Principal, why: Why
) -> HealthSummaryView:
    # Read first so the access names what it returned; shown only once it is allowed.
    record = await find_record(db, str(citizen_id))
    summary = record.health_summary if record else None
    entries = (
        summary_refs(
            summary.allergies,
            summary.chronic_conditions,
            [m.medication_id for m in summary.chronic_medications],
        )
        if summary
        else []
    )
    await authorise(
        app, principal, citizen_id, "health_summary", why.reason, entries, why.emergency
    )
    return HealthSummaryView.of((await visible_record(db, citizen_id)).health_summary)


async def read_vaccinations(
    citizen_id: uuid.UUID, app: App, db: ReadModels, principal: Principal, why: Why
) -> list[VaccinationView]:
    doses = await vaccinations_of(db, str(citizen_id))
    entries = refs("vaccination", [d.id for d in doses])
    await authorise(app, principal, citizen_id, "vaccinations", why.reason, entries, why.emergency)
    await visible_record(db, citizen_id)
    return [VaccinationView.of(v) for v in doses]


async def read_care_plan(
    citizen_id: uuid.UUID, app: App, db: ReadModels, principal: Principal, why: Why
) -> CarePlanView:
    record = await find_record(db, str(citizen_id))
    entries = [ref("care_plan", CARE_PLAN_ID)] if record and record.care_plan else []
    await authorise(app, principal, citizen_id, "care_plan", why.reason, entries, why.emergency)
    record = await visible_record(db, citizen_id)
    if record.care_plan is None:
        raise NotVisible("the record has no care plan yet")
    return CarePlanView.of(record.care_plan)


async def read_prescriptions(
    citizen_id: uuid.UUID, app: App, db: ReadModels, principal: Principal, why: Why
) -> list[PrescriptionView]:
    found = await prescriptions_of(db, str(citizen_id), with_codes=False)
    entries = refs("prescription", [p.id for p in found])
    await authorise(app, principal, citizen_id, "prescriptions", why.reason, entries, why.emergency)
    await visible_record(db, citizen_id)
    return [PrescriptionView.of(p) for p in found]


@records.get("/health-summary", response_model=HealthSummaryView, responses=READ)
async def health_summary(
    citizen_id: uuid.UUID, app: App, db: ReadModels, who: CitizenOrProfessional, reason: Reason
) -> HealthSummaryView:
    """Allergies, chronic conditions and chronic medications (the citizen, or by consent)."""
    return await read_health_summary(citizen_id, app, db, who, Why(reason))


@records.post("/health-summary/emergency", response_model=HealthSummaryView, responses=EMERGENCY)
async def health_summary_in_emergency(
    citizen_id: uuid.UUID, body: EmergencyRead, app: App, db: ReadModels, who: Professional
) -> HealthSummaryView:
    """Break-the-glass read of the health summary: flagged, alerted, reviewed."""
    return await read_health_summary(citizen_id, app, db, who, Why.of(body))


@records.get("/vaccinations", response_model=list[VaccinationView], responses=READ)
async def vaccinations(
    citizen_id: uuid.UUID, app: App, db: ReadModels, who: CitizenOrProfessional, reason: Reason
) -> list[VaccinationView]:
    """The vaccination bulletin, oldest dose first (the citizen, or by consent)."""
    return await read_vaccinations(citizen_id, app, db, who, Why(reason))


@records.post("/vaccinations/emergency", response_model=list[VaccinationView], responses=EMERGENCY)
async def vaccinations_in_emergency(
    citizen_id: uuid.UUID, body: EmergencyRead, app: App, db: ReadModels, who: Professional
) -> list[VaccinationView]:
    """Break-the-glass read of the vaccination bulletin: flagged, alerted, reviewed."""
    return await read_vaccinations(citizen_id, app, db, who, Why.of(body))


@records.get("/care-plan", response_model=CarePlanView, responses=READ)
async def care_plan(
    citizen_id: uuid.UUID, app: App, db: ReadModels, who: CitizenOrProfessional, reason: Reason
) -> CarePlanView:
    """The individual care plan (the citizen, or by consent)."""
    return await read_care_plan(citizen_id, app, db, who, Why(reason))


@records.post("/care-plan/emergency", response_model=CarePlanView, responses=EMERGENCY)
async def care_plan_in_emergency(
    citizen_id: uuid.UUID, body: EmergencyRead, app: App, db: ReadModels, who: Professional
) -> CarePlanView:
    """Break-the-glass read of the care plan: flagged, alerted, reviewed."""
    return await read_care_plan(citizen_id, app, db, who, Why.of(body))


@records.get("/prescriptions", response_model=list[PrescriptionView], responses=READ)
async def prescriptions(
    citizen_id: uuid.UUID, app: App, db: ReadModels, who: CitizenOrProfessional, reason: Reason
) -> list[PrescriptionView]:
    """E-prescriptions, newest first, without codes (the citizen, or by consent)."""
    return await read_prescriptions(citizen_id, app, db, who, Why(reason))


@records.post(
    "/prescriptions/emergency", response_model=list[PrescriptionView], responses=EMERGENCY
)
async def prescriptions_in_emergency(
    citizen_id: uuid.UUID, body: EmergencyRead, app: App, db: ReadModels, who: Professional
) -> list[PrescriptionView]:
    """Break-the-glass read of the e-prescriptions (no codes): flagged, alerted, reviewed."""
    return await read_prescriptions(citizen_id, app, db, who, Why.of(body))


@records.get("/accesses", response_model=list[AccessView])
async def accesses(
    citizen_id: uuid.UUID, db: ReadModels, _: TheCitizenOrAuditor, limit: Limit = 100
) -> list[AccessView]:
    """Who read, wrote or listed (or was refused) the record, newest first."""
    return [AccessView.of(a) for a in await accesses_of(db, str(citizen_id), limit)]
