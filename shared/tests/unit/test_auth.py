"""Token verification: every forgery an attacker might try is refused."""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from rse_shared.auth import AuthError, TokenVerifier, jwks_from_json, principal_from

KEY = Ed25519PrivateKey.generate()
KID = "key-1"
ISS, AUD = "http://identity", "rse"


def jwks() -> str:
    public = json.loads(OKPAlgorithm.to_jwk(KEY.public_key()))
    return json.dumps({"keys": [{**public, "kid": KID, "alg": "EdDSA", "use": "sig"}]})


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "s1",
        "role": "citizen",
        "citizen_id": "c1",
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: Any = KEY, kid: str = KID, alg: str = "EdDSA") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(jwks_from_json(jwks()), issuer=ISS, audience=AUD)


async def test_a_valid_token_gives_its_principal(verifier: TokenVerifier) -> None:
    principal = await verifier.verify(sign(claims()))
    assert principal.role == "citizen" and principal.citizen_id == "c1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def alg_none() -> str:
    header = _b64(json.dumps({"alg": "none", "kid": KID}).encode())
    return f"{header}.{_b64(json.dumps(claims()).encode())}."


def hs256_with_public_key() -> str:
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": KID, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims()).encode())
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def tampered() -> str:
    header, _, signature = sign(claims()).split(".")
    forged = _b64(json.dumps(claims(role="operator")).encode())
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    "make_token",
    [
        alg_none,
        hs256_with_public_key,
        tampered,
        lambda: sign(claims(), kid="unknown"),
        lambda: sign(claims(), key=Ed25519PrivateKey.generate()),
        lambda: sign(claims(exp=int(time.time()) - 5)),
        lambda: sign(claims(nbf=int(time.time()) + 600)),
        lambda: sign(claims(aud="other")),
        lambda: sign(claims(iss="http://evil")),
        lambda: sign(claims(exp=None)),
        lambda: sign(claims(role="superuser")),
        lambda: "garbage",
    ],
    ids=[
        "alg-none",
        "hs256-public-key",
        "tampered-payload",
        "unknown-kid",
        "other-key",
        "expired",
        "not-yet-valid",
        "wrong-aud",
        "wrong-iss",
        "no-exp",
        "unknown-role",
        "garbage",
    ],
)
async def test_a_forged_or_stale_token_is_refused(verifier: TokenVerifier, make_token: Any) -> None:
    with pytest.raises(AuthError):
        await verifier.verify(make_token())


@pytest.mark.parametrize(
    ("amr", "methods"),
    [(["pwd", "otp"], ("pwd", "otp")), (["pwd"], ("pwd",)), (None, ()), ("otp", ()), ([1], ())],
)
def test_the_login_methods_are_read_from_amr_and_anything_else_is_no_claim(
    amr: object, methods: tuple[str, ...]
) -> None:
    claims = {"sub": "s", "role": "professional", **({"amr": amr} if amr is not None else {})}
    assert principal_from(claims).amr == methods
