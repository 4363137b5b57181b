"""Sessions: logout, a password change, an operator's revocation, clearing a lock-out."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from rse_identity.api.auth import BUSY, account_username, retry_later
from rse_identity.api.dependencies import App, Guard, Issuer, Operator, Revoked, SessionClaims
from rse_identity.api.schemas import PasswordChange, Revocation
from rse_identity.domain.account import LoginThrottled
from rse_identity.domain.citizen import InvalidCitizenData
from rse_identity.login_guard import HashingBusy
from rse_identity.tokens import TokenIssuer
from rse_shared.auth import CurrentPrincipal
from rse_shared.eventstore import in_thread
from rse_shared.revocation import Revocation as Revoke
from rse_shared.revocation import Revocations

sessions = APIRouter(tags=["sessions"])


async def revoke(app: App, revocations: Revocations, claims: dict[str, Any], reason: str) -> None:
    """Record the revocation (the relay tells every service) and refuse it here at once."""
    saved = await in_thread(app.revoke_token, claims, reason)  # type: ignore[arg-type]
    at, until = saved.revoked_at.timestamp(), saved.expires_at.timestamp()
    entries = [Revoke("jti", saved.jti, at, until)]
    if saved.session_id:
        entries.append(Revoke("sid", saved.session_id, at, until))
    await in_thread(revocations.add, entries)


@sessions.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(claims: SessionClaims, app: App, revocations: Revoked) -> None:
    """End the session: this token and every token of its session are refused everywhere."""
    await revoke(app, revocations, claims, "logout")


@sessions.post("/auth/revocations", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    body: Revocation, app: App, issuer: Issuer, revocations: Revoked, _: Operator
) -> None:
    """Revoke a token identity signed (e.g. one found leaked) and its session (operators)."""
    await revoke(app, revocations, signed_claims(issuer, body.access_token), "operator")


def signed_claims(issuer: TokenIssuer, token: str) -> dict[str, Any]:
    """The claims of a token signed by one of identity's keys, for any of its audiences."""
    for document in issuer.jwks()["keys"]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwt.PyJWK(document).key,
                algorithms=["EdDSA"],
                issuer=issuer.issuer,
                options={"verify_aud": False, "require": ["jti", "sub", "exp"]},
            )
        except jwt.PyJWTError:
            continue
        uuid.UUID(str(claims["sub"]))
        if int(claims["exp"]) > time.time():
            return claims
    raise InvalidCitizenData("not a live token signed by identity")


@sessions.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    responses={401: {}, 503: BUSY},
)
async def change_password(
    body: PasswordChange, app: App, principal: CurrentPrincipal, guard: Guard
) -> JSONResponse | None:
    """Change the caller's password; the current one is required."""
    account_id = uuid.UUID(principal.subject)
    try:
        async with guard.gate.slot():
            await in_thread(
                app.change_password, account_id, body.current_password, body.new_password
            )
    except LoginThrottled as throttled:
        seconds = throttled.retry_after.total_seconds()
        return retry_later(429, "Too Many Requests", str(throttled), seconds)
    except HashingBusy as busy:
        return retry_later(503, "Service Unavailable", str(busy), busy.retry_after)
    return None


@sessions.delete("/auth/lockouts/{username}", status_code=status.HTTP_204_NO_CONTENT)
async def clear_lockout(username: str, app: App, _: Operator) -> None:
    """Clear an account's failed logins and lock-out (an operator at the counter)."""
    await in_thread(app.unlock, account_username(username))
