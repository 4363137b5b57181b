"""Benefits' composition root: everything built from one Settings object."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_benefits import api
from rse_benefits.application import BenefitsApplication, ExemptionNotFound
from rse_benefits.config import Settings
from rse_benefits.domain.beneficiary import AlreadyOpen, NotABeneficiary
from rse_benefits.domain.exemption import ExemptionNotGranted, ExemptionNotPending
from rse_benefits.integration import to_integration_event
from rse_benefits.projections import ExemptionBook, due_to_expire
from rse_shared.auth import TokenVerifier
from rse_shared.eventstore import in_thread
from rse_shared.service import Service, assemble, periodic

log = logging.getLogger(__name__)

ERRORS: dict[type[Exception], int] = {
    AlreadyOpen: 409,
    ExemptionNotPending: 409,
    ExemptionNotGranted: 409,
    NotABeneficiary: 409,
    ExemptionNotFound: 404,
    api.InvalidDecision: 422,
}


async def expire_due(app: BenefitsApplication, db: AsyncDatabase[Any]) -> None:
    """Lapse granted exemptions whose validity ended (ExemptionExpired when the time comes)."""
    for exemption_id in await due_to_expire(db, app.clock()):
        await in_thread(app.expire_if_due, uuid.UUID(exemption_id))


def bootstrap(settings: Settings, *, topic: str | None = None,
              consumes: Sequence[str] = ("identity.events",),
              verifier: TokenVerifier | None = None,
              clock: Callable[[], date] = date.today) -> Service:
    """Build benefits from settings; nothing connects until it is used or started."""
    app = BenefitsApplication(env=settings.eventstore_env(), ias=settings.ias,
                              validity_days=settings.exemption_validity_days, clock=clock)
    return assemble(
        settings, app, translate=to_integration_event, topic=topic,
        projections=[ExemptionBook()], consumes=consumes,
        routers=[api.citizens, api.officers], errors=ERRORS, verifier=verifier,
        scheduled={"expiry": periodic(settings.expiry_check_interval,
                                      lambda db: expire_due(app, db))},
    )
