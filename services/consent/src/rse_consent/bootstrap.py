"""Consent's composition root: everything built from one Settings object."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError
from pymongo.asynchronous.database import AsyncDatabase

from rse_consent import api
from rse_consent.application import (
    AlertNotFound,
    Clock,
    ConsentApplication,
    ConsentNotFound,
    utcnow,
)
from rse_consent.config import Settings
from rse_consent.domain.consent import ConsentNotActive, InvalidConsent
from rse_consent.published import to_integration_event
from rse_consent.projections import AccessHistory, AlertInbox, ConsentBook, due_to_expire
from rse_shared.auth import TokenVerifier
from rse_shared.eventstore import in_thread
from rse_shared.service import Service, assemble, periodic

log = logging.getLogger(__name__)

ERRORS: dict[type[Exception], int] = {
    InvalidConsent: 422,
    ConsentNotActive: 409,
    ConsentNotFound: 404,
    AlertNotFound: 404,
    api.ConsentNotVisible: 404,
}


async def expire_due(app: ConsentApplication, db: AsyncDatabase[Any]) -> int:
    """Lapse every consent the book shows due; the aggregate decides, so repeats do nothing."""
    expired = 0
    for consent_id in await due_to_expire(db, app.clock()):
        try:
            expired += await in_thread(app.expire_if_due, uuid.UUID(consent_id))
        except IntegrityError:
            # A revocation saved meanwhile won; the next pass sees the consent ended.
            log.info("consent changed while lapsing it", extra={"consent_id": consent_id})
    return expired


def bootstrap(settings: Settings, *, topic: str | None = None,
              consumes: Sequence[str] | None = None, verifier: TokenVerifier | None = None,
              clock: Clock = utcnow) -> Service:
    """Build consent from settings; nothing connects until it is used or started."""
    app = ConsentApplication(env=settings.eventstore_env(), clock=clock)
    return assemble(
        settings, app, translate=to_integration_event, topic=topic,
        projections=[ConsentBook(), AccessHistory(), AlertInbox()],
        consumes=consumes if consumes is not None else (settings.records_topic,),
        routers=[api.consents, api.history, api.alerts], errors=ERRORS, verifier=verifier,
        # assemble runs each scheduled job through single_active: one replica at a time.
        scheduled={"expiry": periodic(settings.expiry_check_interval,
                                      lambda db: expire_due(app, db))},
    )
