"""What identity's routes depend on: the application, the token issuer, the callers' roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rse_identity.application import IdentityApplication
from rse_identity.login_guard import LoginGuard
from rse_identity.tokens import TokenIssuer
from rse_shared.api import PrivilegedRead, citizen_or, get_app, privileged_read, state
from rse_shared.auth import (
    AuthError,
    Forbidden,
    Principal,
    TokenVerifier,
    principal_from,
    require_roles,
)
from rse_shared.revocation import Revocations
from rse_shared.service import ReadModels

App = Annotated[IdentityApplication, Depends(get_app)]
Issuer = Annotated[TokenIssuer, Depends(state("token_issuer"))]
Guard = Annotated[LoginGuard, Depends(state("login_guard"))]
Revoked = Annotated[Revocations, Depends(state("revocations"))]
Operator = Annotated[Principal, Depends(require_roles("operator"))]
CitizenOrOperator = Annotated[
    Principal, Depends(citizen_or("operator", detail="a citizen may only see their own data"))
]
# An operator reading a citizen's personal data says why; the citizen's history shows it.
OperatorRead = Annotated[PrivilegedRead | None, Depends(privileged_read("operator"))]

_bearer = HTTPBearer(auto_error=False)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token")
    return credentials.credentials


Bearer = Annotated[str, Depends(bearer_token)]


async def exchangeable_claims(request: Request, token: Bearer) -> dict[str, Any]:
    """The claims of the caller's identity token (jti, sid, exp: what a logout revokes),
    a proxy's acting token included (it may be re-issued for another service, unchanged)."""
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verified_claims(token)


async def session_claims(request: Request, token: Bearer) -> dict[str, Any]:
    """The claims of the caller's own identity token: a token acting for someone else opens
    none of the session's routes (logout, password, second factor, acting for someone)."""
    claims = await exchangeable_claims(request, token)
    if "act" in claims:
        raise Forbidden("a token acting for someone cannot manage the proxy's own session")
    return claims


ExchangeableClaims = Annotated[dict[str, Any], Depends(exchangeable_claims)]
SessionClaims = Annotated[dict[str, Any], Depends(session_claims)]


async def enrolling(request: Request, token: Bearer) -> Principal:
    """The caller, with an identity token or a staff member's enrolment-only token."""
    try:
        return principal_from(await session_claims(request, token))
    except AuthError:
        verifier: TokenVerifier = request.app.state.enrolment_verifier
        return await verifier.verify(token)


EnrollingPrincipal = Annotated[Principal, Depends(enrolling)]

__all__ = [
    "App",
    "CitizenOrOperator",
    "EnrollingPrincipal",
    "ExchangeableClaims",
    "Guard",
    "Issuer",
    "Operator",
    "OperatorRead",
    "ReadModels",
    "Revoked",
    "SessionClaims",
]
