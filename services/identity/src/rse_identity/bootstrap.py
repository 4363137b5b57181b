"""Identity's composition root: everything built from one Settings object."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rse_identity import api
from rse_identity.application import (
    AccountNotFound,
    CitizenAlreadyRegistered,
    CitizenNotFound,
    IdentityApplication,
    UsernameTaken,
)
from rse_identity.config import Settings
from rse_identity.domain.account import AccountClosed, LoginRefused, TotpNotStarted
from rse_identity.domain.citizen import CitizenDeregisteredError, InvalidCitizenData
from rse_identity.integration import TOPIC, to_integration_event
from rse_identity.projections import CitizenDirectory
from rse_identity.tokens import TokenIssuer, load_or_create_key
from rse_shared.auth import TokenVerifier, jwks_from_json
from rse_shared.projection import ProjectionRunner
from rse_shared.relay import OutboxRelay
from rse_shared.service import Workers, create_api, readiness_checks, single_active

ERRORS: dict[type[Exception], int] = {
    CitizenAlreadyRegistered: 409,
    UsernameTaken: 409,
    IntegrityError: 409,
    CitizenDeregisteredError: 409,
    TotpNotStarted: 409,
    CitizenNotFound: 404,
    AccountNotFound: 404,
    api.CitizenNotVisible: 404,
    InvalidCitizenData: 422,
    LoginRefused: 401,
    AccountClosed: 401,
}


@dataclass
class Identity:
    """The identity service, assembled."""

    settings: Settings
    app: IdentityApplication
    issuer: TokenIssuer
    mongo: AsyncMongoClient[Any]
    db: AsyncDatabase[Any]
    relay: OutboxRelay
    projector: ProjectionRunner
    workers: Workers
    api: FastAPI


def bootstrap(settings: Settings, *, topic: str = TOPIC, **app_kwargs: Any) -> Identity:
    """Build identity from settings; nothing connects until it is used or started."""
    app = IdentityApplication(env=settings.eventstore_env(), **app_kwargs)
    issuer = TokenIssuer(load_or_create_key(settings.signing_key_file),
                         issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                         ttl=settings.access_token_ttl_seconds)
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url, tz_aware=True,
                                                    serverSelectionTimeoutMS=5000)
    db = mongo[settings.mongo_db]
    relay = OutboxRelay(app, to_integration_event, topic=topic,
                        bootstrap=settings.kafka_bootstrap,
                        conninfo=settings.postgres_conninfo(),
                        poll_interval=settings.relay_poll_interval)
    projector = ProjectionRunner(app, CitizenDirectory(), db,
                                 poll_interval=settings.relay_poll_interval)
    # identity verifies its own tokens with its own public key, no HTTP round trip.
    verifier = TokenVerifier(jwks_from_json(json.dumps(issuer.jwks())),
                             issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    workers = Workers({
        "relay": relay.run,
        "projector": single_active(settings.postgres_conninfo(), "projector:identity",
                                   projector.run),
    })
    web = create_api(
        title="RSE identity",
        settings=settings,
        routers=[api.citizens, api.staff, api.auth],
        errors=ERRORS,
        checks=readiness_checks(settings, db),
        workers=workers,
        state={"identity": app, "token_issuer": issuer, "token_verifier": verifier,
               "mongo_db": db},
    )
    return Identity(settings, app, issuer, mongo, db, relay, projector, workers, web)
