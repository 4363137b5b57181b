"""Access tokens signed by identity (EdDSA / Ed25519) and the JWKS that verifies them.

Tokens are RFC 9068 JWT access tokens: header `typ: at+jwt`, one audience each (the
service they are for), a `jti` of their own and the login session's `sid`. The JWKS holds
the signing key and the keys retired within the rotation overlap (rse_identity.signing_keys),
so that tokens signed before a rotation keep verifying until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from rse_shared.auth import ACCESS_TOKEN_TYPE

# Staff without an enrolled second factor get a token for this audience only: identity's
# TOTP enrolment accepts it, every other route of every service refuses it.
ENROLMENT_AUDIENCE = "rse-identity-enrolment"


class TokenIssuer:
    """Signs short-lived access tokens with one Ed25519 key, published as a JWKS."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        issuer: str,
        audience: str,
        ttl: int,
        retired: Sequence[Ed25519PublicKey] = (),
    ) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience  # identity's own: what a login gets unless it names another
        self.ttl = ttl
        self.public_jwk = public_jwk(key.public_key())
        self.kid = str(self.public_jwk["kid"])
        self.retired_jwks = [public_jwk(k) for k in retired]

    def issue(
        self, claims: dict[str, Any], audience: str | None = None, expires_at: int | None = None
    ) -> str:
        """A token for `audience` (identity's own by default), expiring within `ttl` and never
        after `expires_at` (epoch s), if given."""
        now = int(time.time())
        exp = now + self.ttl if expires_at is None else min(expires_at, now + self.ttl)
        payload = {
            **claims,
            "iss": self.issuer,
            "aud": audience or self.audience,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(payload, self.key, algorithm="EdDSA", headers=headers)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk, *self.retired_jwks]}


def public_jwk(key: Ed25519PublicKey) -> dict[str, Any]:
    """The JWK of a verification key, its `kid` its RFC 7638 thumbprint."""
    public = json.loads(OKPAlgorithm.to_jwk(key))
    return {**public, "kid": thumbprint(public), "alg": "EdDSA", "use": "sig"}


def thumbprint(okp_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an OKP key, used as its `kid`."""
    canonical = json.dumps(
        {k: okp_jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
