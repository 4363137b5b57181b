"""Consent's composition root: everything built from one Settings object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_consent import api
from rse_consent.application import AlertNotFound, ConsentApplication, ConsentNotFound
from rse_consent.config import Settings
from rse_consent.domain.consent import ConsentNotActive, ConsentNotVisible, InvalidConsent
from rse_consent.projections import AccessHistory, AlertInbox, ConsentBook, due_to_expire
from rse_consent.proxy_actions import ProxyActions
from rse_consent.published import to_integration_event
from rse_shared.auth import TokenVerifier
from rse_shared.clock import Clock, utcnow
from rse_shared.service import Service, assemble, periodic
from rse_shared.sweep import sweep
from rse_shared.topics import consumed_by, events_topic

ERRORS: dict[type[Exception], int] = {
    InvalidConsent: 422,
    ConsentNotActive: 409,
    ConsentNotFound: 404,
    AlertNotFound: 404,
    ConsentNotVisible: 404,
}


async def expire_due(app: ConsentApplication, db: AsyncDatabase[Any]) -> int:
    """Lapse every consent the book shows due; the aggregate decides, so repeats do nothing."""
    return await sweep(due_to_expire(db, app.clock()), app.expire_if_due, what="consent")


def bootstrap(
    settings: Settings,
    *,
    topic: str | None = None,
    consumes: Sequence[str] | None = None,
    verifier: TokenVerifier | None = None,
    clock: Clock = utcnow,
) -> Service:
    """Build consent from settings; nothing connects until it is used or started."""
    app = ConsentApplication(env=settings.eventstore_env(), clock=clock)
    return assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("consent"),
        projections=[ConsentBook(), AccessHistory(), AlertInbox(), ProxyActions()],
        consumes=consumes if consumes is not None else consumed_by("consent"),
        routers=api.ROUTERS,
        errors=ERRORS,
        verifier=verifier,
        # assemble runs each scheduled job through single_active: one replica at a time.
        scheduled={
            "expiry": periodic(settings.expiry_check_interval, lambda db: expire_due(app, db))
        },
    )
