"""SIGA referrals: registered by a professional, moved on by the hospital, seen by the citizen."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from rse_requests import projections as q
from rse_requests.api.dependencies import App, HospitalStaffMember, OwnCitizen, Professional
from rse_requests.api.schemas import (
    ReferralChange,
    ReferralCompleted,
    ReferralRegistration,
    ReferralScheduled,
    ReferralView,
)
from rse_requests.application import RequestsApplication
from rse_requests.domain.referral import HospitalStaff, Referral
from rse_shared.auth import Forbidden, Principal
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

citizen_referrals = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])
referrals = APIRouter(prefix="/referrals", tags=["referrals"])


@citizen_referrals.get("/referrals", response_model=list[ReferralView])
async def referrals_of_citizen(
    citizen_id: uuid.UUID, _: OwnCitizen, app: App, db: ReadModels
) -> list[ReferralView]:
    """The citizen's referrals: status, deadline, days left, TMRG breach, who changed what."""
    today = app.today()
    return [ReferralView.of_document(d, today) for d in await q.referrals_of(db, str(citizen_id))]


@referrals.post("", status_code=status.HTTP_201_CREATED, response_model=ReferralView)
async def register_referral(
    body: ReferralRegistration, caller: Professional, app: App
) -> ReferralView:
    """Register a referral for a first hospital consultation, with its TMRG deadline."""
    if not (caller.practitioner_id and caller.health_unit):
        raise Forbidden("the professional's token names no practitioner or health unit")
    referral = await in_thread(
        app.register_referral,
        body.citizen_id,
        body.specialty,
        body.hospital,
        body.priority,
        caller.practitioner_id,
        caller.health_unit,
    )
    return ReferralView.of_referral(referral, app.today())


@referrals.post("/{referral_id}/status", response_model=ReferralView)
async def change_referral(
    referral_id: uuid.UUID, body: ReferralChange, caller: HospitalStaffMember, app: App
) -> ReferralView:
    """The referral's hospital scheduled (with a date), completed or cancelled the consultation."""
    referral = await in_thread(change, app, referral_id, body, staff_of(caller))
    return ReferralView.of_referral(referral, app.today())


def staff_of(caller: Principal) -> HospitalStaff:
    """The hospital staff member the token names (a token naming no hospital moves nothing)."""
    return HospitalStaff(account_id=caller.subject, hospital=caller.hospital)


def change(
    app: RequestsApplication, referral_id: uuid.UUID, body: ReferralChange, by: HospitalStaff
) -> Referral:
    """The application call the status change stands for."""
    if isinstance(body, ReferralScheduled):
        return app.schedule_referral(referral_id, body.scheduled_for, by)
    if isinstance(body, ReferralCompleted):
        return app.complete_referral(referral_id, by)
    return app.cancel_referral(referral_id, body.reason, by)
