"""Login, the TOTP second factor, and the JWKS that verifies identity's tokens."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from rse_identity.api.dependencies import App, Issuer
from rse_identity.api.schemas import AccessToken, Login, TotpConfirmation, TotpEnrolment
from rse_identity.application import staff_username, token_claims
from rse_identity.domain.account import LoginThrottled
from rse_shared.auth import CurrentPrincipal
from rse_shared.eventstore import in_thread
from rse_shared.http import problem

auth = APIRouter(tags=["auth"])


def account_username(username: str) -> str:
    """SNS numbers log citizens in; anything else is a staff username."""
    return username if username.isdigit() and len(username) == 9 else staff_username(username)


@auth.post(
    "/auth/token",
    response_model=AccessToken,
    responses={401: {}, 429: {"description": "slow down, or account locked"}},
)
async def login(body: Login, app: App, issuer: Issuer) -> AccessToken | JSONResponse:
    """Exchange username, password and (once enrolled) a TOTP code for an access token."""
    try:
        account = await in_thread(
            app.authenticate, account_username(body.username), body.password, body.totp_code
        )
    except LoginThrottled as throttled:
        seconds = max(1, int(throttled.retry_after.total_seconds() + 0.999))
        response = problem(429, "Too Many Requests", str(throttled), retry_after=seconds)
        response.headers["Retry-After"] = str(seconds)
        return response
    return AccessToken(access_token=issuer.issue(token_claims(account)), expires_in=issuer.ttl)


@auth.post("/auth/totp", response_model=TotpEnrolment)
async def start_totp(app: App, principal: CurrentPrincipal) -> TotpEnrolment:
    """Start enrolling a TOTP second factor (RFC 6238); confirm it with a first code."""
    uri = await in_thread(app.start_totp_enrolment, uuid.UUID(principal.subject))
    return TotpEnrolment(otpauth_uri=uri)


@auth.post("/auth/totp/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_totp(body: TotpConfirmation, app: App, principal: CurrentPrincipal) -> None:
    """Confirm the TOTP enrolment; from now on login requires a code."""
    await in_thread(app.confirm_totp, uuid.UUID(principal.subject), body.code)


@auth.get("/.well-known/jwks.json")
async def jwks(issuer: Issuer) -> dict[str, Any]:
    """The public keys that verify identity's access tokens."""
    return issuer.jwks()
