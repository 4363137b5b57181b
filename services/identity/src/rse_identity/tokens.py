"""Access tokens signed by identity (EdDSA / Ed25519) and the JWKS that verifies them."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
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

    def issue(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        payload = {**claims, "iss": self.issuer, "aud": self.audience, "iat": now,
                   "nbf": now, "exp": now + self.ttl}
        return jwt.encode(payload, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}


def load_or_create_key(path: Path | None) -> Ed25519PrivateKey:
    """The signing key from a PEM file; a new one is written there if it does not exist.

    With no path at all (tests), an ephemeral key is made.
    """
    if path is None:
        return Ed25519PrivateKey.generate()
    if not path.exists():
        write_new_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)


def thumbprint(okp_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an OKP key, used as its `kid`."""
    canonical = json.dumps({k: okp_jwk[k] for k in ("crv", "kty", "x")},
                           separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
