"""Access tokens signed by identity (EdDSA / Ed25519) and the JWKS that verifies them."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm


class TokenIssuer:
    """Signs short-lived access tokens with one Ed25519 key, published as a JWKS."""

    def __init__(self, key: Ed25519PrivateKey, *, issuer: str, audience: str, ttl: int) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        public = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
        self.kid = thumbprint(public)
        self.public_jwk = {**public, "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def issue(self, claims: dict[str, Any], *, not_after: int | None = None) -> str:
        """A signed token; it expires after the ttl, or at `not_after` (epoch s) if sooner."""
        now = int(time.time())
        expires = now + self.ttl if not_after is None else min(now + self.ttl, not_after)
        payload = {
            **claims,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": expires,
        }
        return jwt.encode(payload, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}


def thumbprint(okp_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an OKP key, used as its `kid`."""
    canonical = json.dumps(
        {k: okp_jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
