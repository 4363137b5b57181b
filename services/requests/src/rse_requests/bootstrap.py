"""Requests' composition root: everything built from one Settings object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_requests import api
from rse_requests.application import (
    ReferralNotFound,
    RenewalNotFound,
    RequestsApplication,
    SlotNotFound,
)
from rse_requests.config import Settings
from rse_requests.domain.patient import (
    AppointmentNotFound,
    MedicationNotOnSummary,
    NoFamilyDoctor,
    NotYourFamilyDoctor,
    PatientDeregistered,
    RenewalAlreadyPending,
    UnknownPatient,
)
from rse_requests.domain.referral import (
    InvalidReferralDate,
    NotTheReferralsHospital,
    ReferralTransitionRefused,
)
from rse_requests.domain.renewal import (
    InvalidRenewalDecision,
    NotTheAddressedDoctor,
    RenewalNotPending,
)
from rse_requests.domain.slot import (
    AppointmentAlreadyStarted,
    ConcurrentBooking,
    SlotAlreadyBooked,
    SlotAlreadyOpen,
    SlotInThePast,
    SlotNotBookable,
)
from rse_requests.projections import PROJECTIONS, breach_due
from rse_requests.published import to_integration_event
from rse_shared.auth import TokenVerifier
from rse_shared.clock import Clock, utcnow
from rse_shared.service import Service, assemble, periodic
from rse_shared.sweep import sweep
from rse_shared.topics import consumed_by, events_topic

ERRORS: dict[type[Exception], int] = {
    UnknownPatient: 409,
    PatientDeregistered: 409,
    NoFamilyDoctor: 409,
    NotYourFamilyDoctor: 403,
    SlotNotFound: 404,
    SlotInThePast: 422,
    SlotAlreadyOpen: 409,
    SlotAlreadyBooked: 409,
    ConcurrentBooking: 409,
    SlotNotBookable: 409,
    AppointmentNotFound: 404,
    AppointmentAlreadyStarted: 409,
    MedicationNotOnSummary: 422,
    RenewalAlreadyPending: 409,
    RenewalNotFound: 404,
    RenewalNotPending: 409,
    NotTheAddressedDoctor: 403,
    InvalidRenewalDecision: 422,
    ReferralNotFound: 404,
    ReferralTransitionRefused: 409,
    NotTheReferralsHospital: 403,
    InvalidReferralDate: 422,
}


async def flag_breaches(app: RequestsApplication, db: AsyncDatabase[Any]) -> None:
    """Flag referrals still unscheduled after their deadline (ReferralStatusChanged)."""
    await sweep(breach_due(db, app.today()), app.flag_breach_if_due, what="referral")


def bootstrap(
    settings: Settings,
    *,
    topic: str | None = None,
    consumes: Sequence[str] | None = None,
    verifier: TokenVerifier | None = None,
    clock: Clock = utcnow,
) -> Service:
    """Build requests from settings; nothing connects until it is used or started."""
    app = RequestsApplication(
        env=settings.eventstore_env(),
        booking_horizon_days=settings.booking_horizon_days,
        tmrg_days=settings.tmrg_days,
        max_validity_days=settings.prescription_max_validity_days,
        clock=clock,
    )
    return assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("requests"),
        projections=PROJECTIONS,
        consumes=consumed_by("requests") if consumes is None else consumes,
        routers=api.ROUTERS,
        errors=ERRORS,
        state={"consultation_fee": settings.consultation_fee},
        verifier=verifier,
        scheduled={
            "tmrg": periodic(settings.tmrg_check_interval, lambda db: flag_breaches(app, db))
        },
    )
