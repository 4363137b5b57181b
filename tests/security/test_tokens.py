"""Every service refuses every token identity did not issue as it stands: 401 problem+json.

Each forged token differs from a valid one (the cast citizen's own claims, signed with
identity's real key) in one thing only, and the valid one is shown to pass first, so a 401
is the token's doing and not the endpoint's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rse_identity.tokens import TokenIssuer
from rse_shared.settings import audience_of
from tests.e2e.conftest import Platform

from .cast import Cast, Clients, problem_of

pytestmark = pytest.mark.integration

# A GET of each service that any valid token of the cast citizen passes (200).
PROTECTED = {
    "identity": "/citizens/me",
    "consent": "/citizens/{citizen_id}/consents",
    "records": "/records/{citizen_id}",
    "requests": "/citizens/{citizen_id}/appointments",
    "benefits": "/citizens/{citizen_id}/benefits",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(document: dict[str, Any]) -> str:
    return b64(json.dumps(document, separators=(",", ":")).encode())


@dataclass
class Forge:
    """Makes tokens like identity's: its key, kid, issuer and audience, and real claims."""

    issuer: TokenIssuer
    claims: dict[str, Any]
    audience: str = ""  # the service's own (rse-<service>), set per test

    def payload(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        payload = {
            **self.claims,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer.issuer,
            "aud": self.audience or self.issuer.audience,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            **changes,
        }
        return {k: v for k, v in payload.items() if v is not None}

    def signed(
        self, key: Any = None, kid: str | None = None, typ: str | None = "at+jwt", **changes: Any
    ) -> str:
        headers = {"kid": kid or self.issuer.kid, **({"typ": typ} if typ else {})}
        return jwt.encode(
            self.payload(**changes), key or self.issuer.key, algorithm="EdDSA", headers=headers
        )

    def hmac_signed(self, secret: bytes) -> str:
        """HS256 with the public key as the shared secret (the algorithm-confusion attack)."""
        signing_input = (
            f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': self.issuer.kid})}."
            f"{segment(self.payload())}"
        )
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    def unsigned(self, alg: str) -> str:
        header = segment({"alg": alg, "typ": "JWT", "kid": self.issuer.kid})
        return f"{header}.{segment(self.payload())}."

    def tampered(self) -> str:
        """A valid token whose payload was edited afterwards (another role and citizen)."""
        header, _, signature = self.signed().split(".")
        return f"{header}.{segment(self.payload(role='operator'))}.{signature}"

    def public_key(self, encoding: str) -> bytes:
        public = self.issuer.key.public_key()
        if encoding == "raw":
            return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if encoding == "pem":
            return public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        return json.dumps(self.issuer.public_jwk).encode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BAD_TOKENS: dict[str, Callable[[Forge], dict[str, str]]] = {
    "missing": lambda f: {},
    "empty bearer": lambda f: {"Authorization": "Bearer "},
    "not a bearer scheme": lambda f: {"Authorization": f"Basic {f.signed()}"},
    "garbage": lambda f: bearer("garbage"),
    "three garbage segments": lambda f: bearer("eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl"),
    "header not an object": lambda f: bearer(f"{segment([1])}.{segment(f.payload())}.AAAA"),
    "alg none": lambda f: bearer(f.unsigned("none")),
    "alg None": lambda f: bearer(f.unsigned("None")),
    "HS256 keyed with the raw public key": lambda f: bearer(f.hmac_signed(f.public_key("raw"))),
    "HS256 keyed with the PEM public key": lambda f: bearer(f.hmac_signed(f.public_key("pem"))),
    "HS256 keyed with the public JWK": lambda f: bearer(f.hmac_signed(f.public_key("jwk"))),
    "unknown kid": lambda f: bearer(f.signed(kid="not-a-key-identity-published")),
    "another key under identity's kid": lambda f: bearer(
        f.signed(key=Ed25519PrivateKey.generate())
    ),
    "expired": lambda f: bearer(
        f.signed(iat=int(time.time()) - 900, nbf=int(time.time()) - 900, exp=int(time.time()) - 60)
    ),
    "not yet valid": lambda f: bearer(f.signed(nbf=int(time.time()) + 3600)),
    "wrong audience": lambda f: bearer(f.signed(aud="another-audience")),
    "another service's audience": lambda f: bearer(
        f.signed(aud="rse-records" if f.audience != "rse-records" else "rse-consent")
    ),
    "identity's enrolment-only audience": lambda f: bearer(f.signed(aud="rse-identity-enrolment")),
    "typ JWT, not at+jwt": lambda f: bearer(f.signed(typ="JWT")),
    "no typ": lambda f: bearer(f.signed(typ=None)),
    "no jti": lambda f: bearer(f.signed(jti=None)),
    "wrong issuer": lambda f: bearer(f.signed(iss="https://issuer.invalid")),
    "no expiry": lambda f: bearer(f.signed(exp=None)),
    "unknown role": lambda f: bearer(f.signed(role="superuser")),
    "tampered payload": lambda f: bearer(f.tampered()),
}


@pytest.fixture(scope="module")
def forge(platform: Platform, cast: Cast) -> Forge:
    issuer: TokenIssuer = platform.services["identity"].api.state.token_issuer
    token = cast.citizen["auth"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    kept = {k: v for k, v in claims.items() if k not in ("iss", "aud", "iat", "nbf", "exp", "jti")}
    return Forge(issuer, kept)


@pytest.mark.parametrize("service", list(PROTECTED))
async def test_a_token_made_like_identitys_passes_every_service(
    service: str,
    api: Clients,
    cast: Cast,
    forge: Forge,
) -> None:
    path = PROTECTED[service].format(citizen_id=cast.citizen_id)
    own = replace(forge, audience=audience_of(service))
    response = await api[service].get(path, headers=bearer(own.signed()))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("service", list(PROTECTED))
@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_a_bad_token_is_refused_with_401_problem_by_every_service(
    kind: str,
    service: str,
    api: Clients,
    cast: Cast,
    forge: Forge,
) -> None:
    path = PROTECTED[service].format(citizen_id=cast.citizen_id)
    own = replace(forge, audience=audience_of(service))
    response = await api[service].get(path, headers=BAD_TOKENS[kind](own))
    problem_of(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
