"""Registration and login through the OpenID Connect provider (Autenticação.gov's stand-in)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from rse_identity.api.auth import issued
from rse_identity.api.dependencies import App, Issuer
from rse_identity.api.schemas import AccessToken
from rse_identity.application import token_claims
from rse_identity.domain.oidc_login import OidcLoginRefused
from rse_identity.oidc import OidcProvider, proven_identity
from rse_shared.clock import utcnow
from rse_shared.eventstore import in_thread

oidc = APIRouter(prefix="/auth/oidc", tags=["auth"])
Opaque = Annotated[str, Query(min_length=1, max_length=2048)]


class ProviderNotConfigured(LookupError):
    """identity runs without an OpenID Connect provider (RSE_OIDC_ISSUER unset)."""


def provider(request: Request) -> OidcProvider:
    found: OidcProvider | None = getattr(request.app.state, "oidc", None)
    if found is None:
        raise ProviderNotConfigured("no identity provider is configured")
    return found


Provider = Annotated[OidcProvider, Depends(provider)]


@oidc.get("/start", status_code=302, response_class=RedirectResponse)
async def start(app: App, idp: Provider, request: Request) -> RedirectResponse:
    """Send the citizen to the identity provider (authorization code flow with PKCE S256)."""
    authorization = await idp.authorization_request()
    ttl = timedelta(seconds=request.app.state.oidc_login_ttl)
    await in_thread(
        app.start_oidc_login,
        authorization.state,
        authorization.nonce,
        authorization.code_verifier,
        utcnow() + ttl,
    )
    return RedirectResponse(authorization.url, status_code=302)


@oidc.get("/callback", response_model=AccessToken, responses={401: {}, 403: {}})
async def callback(
    app: App,
    idp: Provider,
    issuer: Issuer,
    state: Opaque,
    code: Opaque | None = None,
    iss: Opaque | None = None,
) -> AccessToken:
    """The provider's answer: the citizen it vouched for, registered or found, logged in."""
    login = await in_thread(app.use_oidc_login, state)  # spent even if what follows fails
    if code is None:
        raise OidcLoginRefused("the provider sent no code")
    if iss is not None and iss.rstrip("/") != idp.issuer:
        # RFC 9207: an answer from another provider (a mix-up attack) is not redeemed.
        raise OidcLoginRefused("the answer names another issuer")
    claims = await idp.redeem(code, login.code_verifier, login.nonce)
    account = await in_thread(app.register_or_find_proven, proven_identity(claims))
    # The provider authenticated the citizen ("fed"erated), not a password here.
    claims = {**token_claims(account, session_id=uuid.uuid4().hex), "amr": ["fed"]}
    return issued(issuer, claims, issuer.audience)
