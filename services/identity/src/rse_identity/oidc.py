"""The OpenID Connect relying party: authorization code flow with PKCE, ID token checks.

identity sends the citizen to the provider standing for Autenticação.gov (Keycloak
locally), redeems the code it gets back with the PKCE verifier it kept, and believes
the citizen's name, date of birth, NIF and SNS number only from an ID token whose
issuer, audience, signature (the provider's JWKS), nonce and expiry all verify.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

from rse_identity.domain.citizen import InvalidCitizenData, check_nif, check_sns_number
from rse_identity.domain.oidc_login import OidcLoginRefused
from rse_identity.registration import ProvenIdentity
from rse_shared.eventstore import in_thread

# Asymmetric signatures only: never `none`, never an HMAC keyed with a public value.
ALLOWED_ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub", "nonce")
# Finds the key that signed a token (in production: the provider's JWKS, by `kid`).
KeyResolver = Callable[[str], Any]


class ClaimsRefused(Exception):
    """The provider's claims do not name a citizen: a NIF, SNS number or date is missing or
    invalid."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """What /auth/oidc/start keeps server-side, and the URL it sends the browser to."""

    state: str
    nonce: str
    code_verifier: str
    url: str


def code_challenge(verifier: str) -> str:
    """RFC 7636 S256: the unpadded base64url SHA-256 of the verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_id_token(
    token: str, key_for: KeyResolver, *, issuer: str, client_id: str, nonce: str, leeway: int = 30
) -> dict[str, Any]:
    """The ID token's claims, if it is signed by the provider for us and this login."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise OidcLoginRefused(f"ID token algorithm {algorithm!r} is not allowed")
        claims: dict[str, Any] = jwt.decode(
            token,
            key_for(token),
            algorithms=list(ALLOWED_ALGORITHMS),
            audience=client_id,
            issuer=issuer,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError as invalid:
        raise OidcLoginRefused(f"ID token refused: {invalid}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise OidcLoginRefused("ID token issued to another party")
    if not secrets.compare_digest(str(claims["nonce"]), nonce):
        raise OidcLoginRefused("ID token of another login (nonce)")
    return claims


class ProviderClaims(BaseModel):
    """The ID token's claims identity registers a citizen from."""

    model_config = ConfigDict(extra="ignore")

    sns_number: str
    nif: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    birthdate: date
    email: EmailStr

    @field_validator("nif")
    @classmethod
    def _nif(cls, value: str) -> str:
        return domain_rule(check_nif, value)

    @field_validator("sns_number")
    @classmethod
    def _sns(cls, value: str) -> str:
        return domain_rule(check_sns_number, value)


def domain_rule(check: Callable[[str], None], value: str) -> str:
    """The domain's own rule as a validation error (pydantic reports it: 422 on a body)."""
    try:
        check(value)
    except InvalidCitizenData as invalid:
        raise ValueError(str(invalid)) from None
    return value


def proven_identity(claims: dict[str, Any]) -> ProvenIdentity:
    """The citizen the verified claims describe (ClaimsRefused if they describe none)."""
    try:
        parsed = ProviderClaims.model_validate(claims)
    except ValidationError as invalid:
        fields = sorted({str(error["loc"][0]) for error in invalid.errors() if error["loc"]})
        raise ClaimsRefused(f"the provider's claims are unusable: {', '.join(fields)}") from None
    return ProvenIdentity(
        sns_number=parsed.sns_number,
        nif=parsed.nif,
        full_name=parsed.name,
        date_of_birth=parsed.birthdate,
        email=str(parsed.email),
    )


class OidcProvider:
    """The provider as identity's settings name it; its metadata is read on first use."""

    def __init__(
        self, issuer: str, client_id: str, redirect_uri: str, *, provider_url: str | None = None
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.provider_url = (provider_url or issuer).rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._metadata: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document; its issuer must be the one configured."""
        if self._metadata is None:
            url = f"{self.provider_url}/.well-known/openid-configuration"
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.get(url)
            answer.raise_for_status()
            metadata: dict[str, Any] = answer.json()
            if metadata.get("issuer") != self.issuer:
                raise OidcLoginRefused("the provider names another issuer")
            self._jwks = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=True, lifespan=300)
            self._metadata = metadata
        return self._metadata

    async def authorization_request(self) -> AuthorizationRequest:
        """A fresh state, nonce and PKCE verifier, and the provider's URL carrying them."""
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        endpoint = (await self.metadata())["authorization_endpoint"]
        return AuthorizationRequest(state, nonce, verifier, f"{endpoint}?{urlencode(query)}")

    async def redeem(self, code: str, verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the code at the token endpoint; the verified ID token's claims."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(metadata["token_endpoint"], data=form)
        try:
            token = str(answer.json()["id_token"]) if answer.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            token = None
        if token is None:
            raise OidcLoginRefused("the provider refused the code")
        return await in_thread(
            verify_id_token,
            token,
            self._signing_key,
            issuer=self.issuer,
            client_id=self.client_id,
            nonce=nonce,
        )

    def _signing_key(self, token: str) -> Any:
        assert self._jwks is not None  # set with the metadata
        return self._jwks.get_signing_key_from_jwt(token).key
