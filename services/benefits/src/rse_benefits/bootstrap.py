"""Benefits' composition root: everything built from one Settings object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_benefits import api
from rse_benefits.application import BenefitsApplication, ExemptionNotFound
from rse_benefits.config import Settings
from rse_benefits.domain.beneficiary import AlreadyOpen, NotABeneficiary
from rse_benefits.domain.exemption import (
    ExemptionNotGranted,
    ExemptionNotPending,
    InvalidDecision,
)
from rse_benefits.projections import ExemptionBook, due_to_expire
from rse_benefits.published import to_integration_event
from rse_shared.auth import TokenVerifier
from rse_shared.clock import Clock, today, utcnow
from rse_shared.service import Service, assemble, periodic
from rse_shared.sweep import sweep
from rse_shared.topics import consumed_by, events_topic

ERRORS: dict[type[Exception], int] = {
    AlreadyOpen: 409,
    ExemptionNotPending: 409,
    ExemptionNotGranted: 409,
    NotABeneficiary: 409,
    ExemptionNotFound: 404,
    InvalidDecision: 422,
}


async def expire_due(app: BenefitsApplication, db: AsyncDatabase[Any]) -> int:
    """Lapse granted exemptions whose validity ended (ExemptionExpired when the time comes)."""
    return await sweep(due_to_expire(db, today(app.clock)), app.expire_if_due, what="exemption")


def bootstrap(
    settings: Settings,
    *,
    topic: str | None = None,
    consumes: Sequence[str] | None = None,
    verifier: TokenVerifier | None = None,
    clock: Clock = utcnow,
) -> Service:
    """Build benefits from settings; nothing connects until it is used or started."""
    app = BenefitsApplication(
        env=settings.eventstore_env(),
        ias=settings.ias,
        validity_days=settings.exemption_validity_days,
        clock=clock,
    )
    return assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("benefits"),
        projections=[ExemptionBook()],
        consumes=consumed_by("benefits") if consumes is None else consumes,
        routers=[api.citizens, api.officers],
        errors=ERRORS,
        verifier=verifier,
        scheduled={
            "expiry": periodic(settings.expiry_check_interval, lambda db: expire_due(app, db))
        },
    )
