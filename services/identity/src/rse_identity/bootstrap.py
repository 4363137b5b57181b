"""Identity's composition root: everything built from one Settings object."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_identity import api
from rse_identity.api.oidc import ProviderNotConfigured
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
from rse_identity.domain.activation import ActivationRefused, AlreadyActivated
from rse_identity.domain.citizen import CitizenDeregisteredError, InvalidCitizenData
from rse_identity.domain.oidc_login import OidcLoginRefused
from rse_identity.domain.proxy import NotYours, ProxyNotInForce, ProxyRefused
from rse_identity.login_guard import HashGate, LoginGuard, LoginPolicy, PostgresFailures, RateLimit
from rse_identity.oidc import ClaimsRefused, OidcProvider
from rse_identity.projections import CitizenDirectory
from rse_identity.proxy_commands import ProxyNotFound
from rse_identity.proxy_projection import ProxyDirectory, due_to_end
from rse_identity.published import to_integration_event
from rse_identity.registration import CitizenNotFoundError, IdentityMismatch
from rse_identity.retention import RetentionPolicy, due_for_retention
from rse_identity.signing_keys import retired_keys
from rse_identity.tokens import ENROLMENT_AUDIENCE, TokenIssuer
from rse_shared.auth import TokenVerifier, jwks_from_json
from rse_shared.channels import channel_name, channel_relay, reader_key
from rse_shared.keys import load_or_create_key
from rse_shared.service import Service, assemble, periodic
from rse_shared.sweep import sweep
from rse_shared.topics import events_topic

ERRORS: dict[type[Exception], int] = {
    CitizenAlreadyRegistered: 409,
    UsernameTaken: 409,
    PractitionerTaken: 409,
    NotStaff: 409,
    CitizenDeregisteredError: 409,
    TotpNotStarted: 409,
    ProxyNotInForce: 403,
    NotYours: 403,
    ProxyNotFound: 404,
    ProxyRefused: 422,
    TotpEnrolled: 409,
    CitizenNotFound: 404,
    AccountNotFound: 404,
    CitizenNotVisible: 404,
    InvalidCitizenData: 422,
    LoginRefused: 401,
    AccountClosed: 401,
    # Registration bound to a proven identity: the counter code and the provider.
    ActivationRefused: 401,
    AlreadyActivated: 409,
    CitizenNotFoundError: 404,
    OidcLoginRefused: 401,
    ClaimsRefused: 403,
    IdentityMismatch: 403,
    ProviderNotConfigured: 404,
    AccountDeactivated: 401,
}


async def end_due(app: IdentityApplication, db: AsyncDatabase[Any]) -> int:
    """End the relationships whose period is over: a ward came of age, a period ran out."""
    return await sweep(due_to_end(db, app.today()), app.end_proxy_if_due, what="proxy")


async def erase_retained(app: IdentityApplication, db: AsyncDatabase[Any]) -> int:
    """Erase the citizens whose retention period ended (legal basis: retention)."""
    due = due_for_retention(db, app.retention, app.clock())
    return await sweep(due, app.erase_if_retention_ended, what="citizen")


def bootstrap(settings: Settings, *, topic: str | None = None, **app_kwargs: Any) -> Service:
    """Build identity from settings; nothing connects until it is used or started.

    The citizens' contacts go, sealed, to notifications on identity's channel beside `topic`.
    """
    policy = login_policy(settings)
    app_kwargs.setdefault("failures", PostgresFailures(settings.postgres_conninfo(), policy))
    app_kwargs.setdefault("token_ttl", timedelta(seconds=settings.access_token_ttl_seconds))
    app_kwargs.setdefault(
        "retention",
        RetentionPolicy(
            deregistered=timedelta(days=settings.retention_deregistered_days),
            unactivated=timedelta(days=settings.retention_unactivated_days),
        ),
    )
    app = IdentityApplication(env=settings.eventstore_env(), **app_kwargs)
    issuer = token_issuer(settings)
    key = reader_key(settings, settings.notifications_seal_public_key, "notifications")
    contacts = contacts_channel(key)
    service = assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("identity"),
        projections=[CitizenDirectory(), ProxyDirectory()],
        routers=[
            api.citizens,
            api.activation,
            api.staff,
            api.auth,
            api.sessions,
            api.oidc,
            api.proxies,
        ],
        errors=ERRORS,
        state={"token_issuer": issuer, **login_state(settings, issuer), **oidc_state(settings)},
        # identity verifies its own tokens with its own public keys, no HTTP round trip.
        verifier=own_verifier(settings, issuer, settings.jwt_audience),
        scheduled={
            "proxy-ends": periodic(settings.proxy_sweep_interval, lambda db: end_due(app, db)),
            "retention": periodic(
                settings.retention_sweep_interval, lambda db: erase_retained(app, db)
            ),
        },
        extra_workers={
            "contacts-relay": channel_relay(
                settings, app, contacts, channel_name("identity", "contacts", topic)
            )
        },
    )
    service.api.state.enrolment_verifier.revocations = service.api.state.revocations
    return service


def oidc_state(settings: Settings) -> dict[str, Any]:
    """The identity provider the /auth/oidc routes use (none without RSE_OIDC_ISSUER)."""
    provider = None
    if settings.oidc_issuer:
        provider = OidcProvider(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_redirect_uri,
            provider_url=settings.oidc_provider_url,
        )
    return {"oidc": provider, "oidc_login_ttl": settings.oidc_login_ttl_seconds}


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
