"""Access tokens: offline verification of identity's EdDSA JWTs and FastAPI role guards."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

Role = Literal[
    "citizen", "professional", "hospital_staff", "benefits_officer", "auditor", "operator"
]
ROLES: tuple[Role, ...] = (
    "citizen",
    "professional",
    "hospital_staff",
    "benefits_officer",
    "auditor",
    "operator",
)
ALGORITHMS = ["EdDSA"]  # the allow-list: nothing else is ever accepted
ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068: an ID token or any other JWT is no access token


class AuthError(Exception):
    """The request carries no valid access token (401)."""


class Forbidden(Exception):
    """The caller is authenticated but not allowed to do this (403)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says."""

    subject: str
    role: Role
    citizen_id: str | None = None
    practitioner_id: str | None = None
    health_unit: str | None = None
    hospital: str | None = None  # hospital staff: the hospital they work for
    # How the session was authenticated (RFC 8176 `amr`: "pwd", "otp"); () if not said.
    amr: tuple[str, ...] = ()
    # Acting for someone (RFC 8693): the proxy's citizen id, the relationship, its scopes.
    # None for a token of one's own, which holds all of the role's rights.
    actor: str | None = None
    relationship_id: str | None = None
    scopes: frozenset[str] | None = None
    proxy_kind: str | None = None

    def is_citizen(self, citizen_id: object) -> bool:
        return self.role == "citizen" and self.citizen_id == str(citizen_id)


JwksLoader = Callable[[], Awaitable[dict[str, Any]]]


def http_jwks_loader(url: str) -> JwksLoader:
    """Load a JWKS document over HTTP (identity's /.well-known/jwks.json)."""

    async def load() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document

    return load


class RevocationList(Protocol):
    """What a verifier asks before it accepts a token (rse_shared.revocation)."""

    def refuses(self, claims: Mapping[str, Any]) -> bool: ...


class TokenVerifier:
    """Verifies access tokens against the issuer's published keys, offline once loaded.

    Only tokens typed `at+jwt`, for this verifier's own audience (one per service) and
    not revoked (`revocations`, set by the service's assembly) are accepted.
    """

    def __init__(
        self,
        jwks: JwksLoader,
        *,
        issuer: str,
        audience: str,
        refresh_after: float = 300.0,
        revocations: RevocationList | None = None,
    ) -> None:
        self.load = jwks
        self.issuer = issuer
        self.audience = audience
        self.refresh_after = refresh_after
        self.revocations = revocations
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self, force: bool = False) -> None:
        async with self._lock:
            fresh = time.monotonic() - self._loaded_at < self.refresh_after
            if fresh and not force:
                return
            # An unknown kid may force a reload, but not more than once a second.
            if force and time.monotonic() - self._loaded_at < 1.0:
                return
            document = await self.load()
            keys = jwt.PyJWKSet.from_dict(document).keys
            self._keys = {k.key_id: k for k in keys if k.key_id}
            self._loaded_at = time.monotonic()

    async def key_for(self, kid: str) -> jwt.PyJWK:
        await self._refresh()
        if kid not in self._keys:
            await self._refresh(force=True)
        try:
            return self._keys[kid]
        except KeyError:
            raise AuthError("unknown signing key") from None

    async def verify(self, token: str) -> Principal:
        return principal_from(await self.verified_claims(token))

    async def verified_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token this verifier accepts (AuthError for any other)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthError("algorithm not allowed")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise AuthError("not an access token (typ at+jwt)")
        key = await self.key_for(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "role", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError as invalid:
            raise AuthError(f"invalid token: {type(invalid).__name__}") from None
        if self.revocations is not None and self.revocations.refuses(claims):
            raise AuthError("token revoked")
        return claims


def principal_from(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise AuthError("unknown role")
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        citizen_id=claims.get("citizen_id"),
        practitioner_id=claims.get("practitioner_id"),
        health_unit=claims.get("health_unit"),
        hospital=claims.get("hospital"),
        amr=_methods(claims.get("amr")),
        **_acting_claims(claims),
    )


def _acting_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """A token acting for someone: `act.sub`, `rel` and `scope` all there, or it is refused."""
    act = claims.get("act")
    if act is None:
        return {}
    actor, relationship, scope = (
        act.get("sub") if isinstance(act, dict) else None,
        claims.get("rel"),
        claims.get("scope"),
    )
    if not (isinstance(actor, str) and isinstance(relationship, str) and isinstance(scope, str)):
        raise AuthError("malformed act claim")
    if "act" in act:  # acting through someone acting for someone: chains are refused
        raise AuthError("a chain of actors is not accepted")
    kind = claims.get("proxy_kind")
    return {
        "actor": actor,
        "relationship_id": relationship,
        "scopes": frozenset(scope.split()),
        "proxy_kind": kind if isinstance(kind, str) else None,
    }


def _methods(amr: Any) -> tuple[str, ...]:
    """The `amr` claim's methods; anything but a list of strings is no claim at all."""
    if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
        return ()
    return tuple(amr)


_bearer = HTTPBearer(auto_error=False)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller (401 without a valid bearer token)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    if principal.actor is not None:
        # Imported here: rse_shared.proxy_guard builds on this module.
        from rse_shared.proxy_guard import check_acting

        await check_acting(request, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """FastAPI dependency factory: the caller must hold one of `roles` (else 403)."""

    async def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"requires role {' or '.join(roles)}")
        return principal

    return guard


def jwks_from_json(text: str) -> JwksLoader:
    """A fixed JWKS (for a service that holds the keys itself, or tests)."""
    document: dict[str, Any] = json.loads(text)

    async def load() -> dict[str, Any]:
        return document

    return load
