"""Login, tokens for each service, the TOTP second factor, and the JWKS."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from rse_identity.api.dependencies import (
    App,
    EnrollingPrincipal,
    ExchangeableClaims,
    Guard,
    Issuer,
)
from rse_identity.api.schemas import (
    AccessToken,
    Exchange,
    Login,
    TotpConfirmation,
    TotpEnrolment,
    TotpReenrolment,
)
from rse_identity.application import staff_username, token_claims
from rse_identity.domain.account import Account, LoginThrottled
from rse_identity.login_guard import HashingBusy, RateLimited
from rse_identity.tokens import ENROLMENT_AUDIENCE, TokenIssuer
from rse_shared.eventstore import in_thread
from rse_shared.http import problem

auth = APIRouter(tags=["auth"])
REGISTERED = ("iss", "aud", "iat", "nbf", "exp", "jti")
THROTTLED = {"description": "slow down, or account locked (Retry-After)"}
BUSY = {"description": "too many logins at once (Retry-After)"}


def account_username(username: str) -> str:
    """SNS numbers log citizens in; anything else is a staff username."""
    return username if username.isdigit() and len(username) == 9 else staff_username(username)


def retry_later(status_code: int, title: str, detail: str, seconds: float) -> JSONResponse:
    """A problem+json telling when to try again (Retry-After, whole seconds)."""
    wait = max(1, int(seconds + 0.999))
    response = problem(status_code, title, detail, retry_after=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@auth.post(
    "/auth/token", response_model=AccessToken, responses={401: {}, 429: THROTTLED, 503: BUSY}
)
async def login(
    body: Login, request: Request, app: App, issuer: Issuer, guard: Guard
) -> AccessToken | JSONResponse:
    """Exchange username, password and (once enrolled) a TOTP code for an access token."""
    username = account_username(body.username)
    try:
        guard.admit(client_address(request), username)
        async with guard.gate.slot():
            account = await in_thread(app.authenticate, username, body.password, body.totp_code)
    except (LoginThrottled, RateLimited) as throttled:
        seconds = throttled.retry_after.total_seconds()
        return retry_later(429, "Too Many Requests", str(throttled), seconds)
    except HashingBusy as busy:
        return retry_later(503, "Service Unavailable", str(busy), busy.retry_after)
    return session_token(issuer, account, body.audience)


def session_token(issuer: TokenIssuer, account: Account, audience: str | None) -> AccessToken:
    """The login's token: staff without an enrolled second factor may only enrol one."""
    claims = token_claims(account, session_id=uuid.uuid4().hex)
    if account.is_staff and account.totp_secret is None:
        audience = ENROLMENT_AUDIENCE
    return issued(issuer, claims, audience or issuer.audience)


def issued(
    issuer: TokenIssuer, claims: dict[str, Any], audience: str, expires_at: int | None = None
) -> AccessToken:
    token = issuer.issue(claims, audience, expires_at=expires_at)
    return AccessToken(access_token=token, expires_in=issuer.ttl, audience=audience)


@auth.post("/auth/exchange", response_model=AccessToken)
async def exchange(body: Exchange, claims: ExchangeableClaims, issuer: Issuer) -> AccessToken:
    """A token of the same session for another service (it expires no later)."""
    kept = {k: v for k, v in claims.items() if k not in REGISTERED}
    return issued(issuer, kept, body.audience, expires_at=int(claims["exp"]))


@auth.post("/auth/totp", response_model=TotpEnrolment, responses={401: {}, 503: BUSY})
async def start_totp(
    app: App, principal: EnrollingPrincipal, guard: Guard, body: TotpReenrolment | None = None
) -> TotpEnrolment | JSONResponse:
    """Start enrolling a TOTP second factor (RFC 6238); confirm it with a first code.

    Replacing an enrolled one needs the current password and a current code.
    """
    account_id = uuid.UUID(principal.subject)
    proof = (body.password, body.code) if body else (None, None)
    try:
        async with guard.gate.slot():
            uri = await in_thread(app.start_totp_enrolment, account_id, *proof)
    except LoginThrottled as throttled:
        seconds = throttled.retry_after.total_seconds()
        return retry_later(429, "Too Many Requests", str(throttled), seconds)
    except HashingBusy as busy:
        return retry_later(503, "Service Unavailable", str(busy), busy.retry_after)
    return TotpEnrolment(otpauth_uri=uri)


@auth.post("/auth/totp/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_totp(body: TotpConfirmation, app: App, principal: EnrollingPrincipal) -> None:
    """Confirm the TOTP enrolment; from now on login requires a code."""
    await in_thread(app.confirm_totp, uuid.UUID(principal.subject), body.code)


@auth.get("/.well-known/jwks.json")
async def jwks(issuer: Issuer) -> dict[str, Any]:
    """The public keys that verify identity's access tokens (retired ones in the overlap)."""
    return issuer.jwks()
