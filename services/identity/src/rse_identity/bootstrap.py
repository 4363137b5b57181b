"""Identity's composition root: everything built from one Settings object."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from rse_identity import api
from rse_identity.application import (
    AccountNotFound,
    CitizenAlreadyRegistered,
    CitizenNotFound,
    CitizenNotVisible,
    IdentityApplication,
    PractitionerTaken,
    UsernameTaken,
)
from rse_identity.config import Settings
from rse_identity.contacts_channel import contacts_channel
from rse_identity.domain.account import (
    AccountClosed,
    AccountDeactivated,
    LoginRefused,
    NotStaff,
    TotpEnrolled,
    TotpNotStarted,
)
from rse_identity.domain.citizen import CitizenDeregisteredError, InvalidCitizenData
from rse_identity.login_guard import HashGate, LoginGuard, LoginPolicy, PostgresFailures, RateLimit
from rse_identity.projections import CitizenDirectory
from rse_identity.published import to_integration_event
from rse_identity.signing_keys import retired_keys
from rse_identity.tokens import ENROLMENT_AUDIENCE, TokenIssuer
from rse_shared.auth import TokenVerifier, jwks_from_json
from rse_shared.channels import channel_name, channel_relay, reader_key
from rse_shared.keys import load_or_create_key
from rse_shared.service import Service, assemble
from rse_shared.topics import events_topic

ERRORS: dict[type[Exception], int] = {
    CitizenAlreadyRegistered: 409,
    UsernameTaken: 409,
    PractitionerTaken: 409,
    NotStaff: 409,
    CitizenDeregisteredError: 409,
    TotpNotStarted: 409,
    TotpEnrolled: 409,
    CitizenNotFound: 404,
    AccountNotFound: 404,
    CitizenNotVisible: 404,
    InvalidCitizenData: 422,
    LoginRefused: 401,
    AccountClosed: 401,
    AccountDeactivated: 401,
}


def bootstrap(settings: Settings, *, topic: str | None = None, **app_kwargs: Any) -> Service:
    """Build identity from settings; nothing connects until it is used or started.

    The citizens' contacts go, sealed, to notifications on identity's channel beside `topic`.
    """
    policy = login_policy(settings)
    app_kwargs.setdefault("failures", PostgresFailures(settings.postgres_conninfo(), policy))
    app_kwargs.setdefault("token_ttl", timedelta(seconds=settings.access_token_ttl_seconds))
    app = IdentityApplication(env=settings.eventstore_env(), **app_kwargs)
    issuer = token_issuer(settings)
    key = reader_key(settings, settings.notifications_seal_public_key, "notifications")
    contacts = contacts_channel(key)
    service = assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("identity"),
        projections=[CitizenDirectory()],
        routers=[api.citizens, api.staff, api.auth, api.sessions],
        errors=ERRORS,
        state={"token_issuer": issuer, **login_state(settings, issuer)},
        # identity verifies its own tokens with its own public keys, no HTTP round trip.
        verifier=own_verifier(settings, issuer, settings.jwt_audience),
        extra_workers={
            "contacts-relay": channel_relay(
                settings, app, contacts, channel_name("identity", "contacts", topic)
            )
        },
    )
    service.api.state.enrolment_verifier.revocations = service.api.state.revocations
    return service


def token_issuer(settings: Settings) -> TokenIssuer:
    """The issuer: the signing key, and the keys retired within the overlap in its JWKS."""
    return TokenIssuer(
        load_or_create_key(settings.signing_key_file),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl_seconds,
        retired=retired_keys(settings.signing_key_file, settings.signing_key_overlap_seconds),
    )


def own_verifier(settings: Settings, issuer: TokenIssuer, audience: str) -> TokenVerifier:
    return TokenVerifier(
        jwks_from_json(json.dumps(issuer.jwks())), issuer=settings.jwt_issuer, audience=audience
    )


def login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        slow_after=settings.login_slow_after,
        lock_after=settings.login_lock_after,
        lock_for=timedelta(seconds=settings.login_lock_seconds),
        max_lock=timedelta(seconds=settings.login_max_lock_seconds),
    )


def login_state(settings: Settings, issuer: TokenIssuer) -> dict[str, Any]:
    """What the login routes share: the hashing gate, the rate limits, the enrolment verifier."""
    guard = LoginGuard(
        gate=HashGate(settings.login_concurrency, settings.login_queue_seconds),
        per_address=RateLimit(settings.login_rate_per_address, per=60),
        per_account=RateLimit(settings.login_rate_per_account, per=60),
    )
    return {
        "login_guard": guard,
        "enrolment_verifier": own_verifier(settings, issuer, ENROLMENT_AUDIENCE),
    }
