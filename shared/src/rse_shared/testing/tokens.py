"""Access tokens signed the way identity signs them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from rse_shared.auth import ACCESS_TOKEN_TYPE, Role, TokenVerifier, jwks_from_json
from rse_shared.settings import ServiceSettings


class TokenMint:
    """Signs access tokens the way identity does, for services tested without identity."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = uuid.uuid4().hex
        self.settings = settings
        public = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(
            jwks_from_json(json.dumps(self.jwks)),
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
        )

    def token(self, role: Role, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "sub": str(uuid.uuid4()),
            "role": role,
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        headers = {"kid": self.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(payload, self.key, algorithm="EdDSA", headers=headers)

    def citizen(self, citizen_id: uuid.UUID | str) -> dict[str, str]:
        """Authorization header of the citizen `citizen_id`."""
        return bearer(self.token("citizen", citizen_id=str(citizen_id)))

    def professional(self, practitioner_id: str, health_unit: str) -> dict[str, str]:
        return bearer(
            self.token("professional", practitioner_id=practitioner_id, health_unit=health_unit)
        )

    def hospital_staff(self, hospital: str) -> dict[str, str]:
        """Authorization header of a member of `hospital`'s staff."""
        return bearer(self.token("hospital_staff", hospital=hospital))

    def staff(self, role: Role) -> dict[str, str]:
        return bearer(self.token(role))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
