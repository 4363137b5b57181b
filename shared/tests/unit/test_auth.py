"""Token verification: every forgery an attacker might try is refused."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from rse_shared.auth import AuthError, TokenVerifier, jwks_from_json, principal_from
from rse_shared.contracts import StaffDeactivated, TokenRevoked
from rse_shared.revocation import Revocation, Revocations, revocations_of

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
        "jti": "j1",
        "sid": "s-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(
    payload: dict[str, Any],
    key: Any = KEY,
    kid: str = KID,
    alg: str = "EdDSA",
    typ: str | None = "at+jwt",
) -> str:
    headers = {"kid": kid, **({"typ": typ} if typ else {})}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


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
        lambda: sign(claims(), typ=None),
        lambda: sign(claims(), typ="JWT"),
        lambda: sign(claims(jti=None)),
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
        "no-typ",
        "typ-JWT-not-at+jwt",
        "no-jti",
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


def revoked(kind: str, value: str, at: float | None = None) -> Revocations:
    revocations = Revocations()
    now = time.time()
    revocations.add([Revocation(kind, value, now if at is None else at, now + 600)])  # type: ignore[arg-type]
    return revocations


@pytest.mark.parametrize(("kind", "value"), [("jti", "j1"), ("sid", "s-1"), ("sub", "s1")])
async def test_a_revoked_token_its_session_or_its_deactivated_subject_is_refused(
    kind: str, value: str
) -> None:
    verifier = TokenVerifier(
        jwks_from_json(jwks()), issuer=ISS, audience=AUD, revocations=revoked(kind, value)
    )
    with pytest.raises(AuthError, match="revoked"):
        await verifier.verify(sign(claims()))


async def test_a_subjects_revocation_spares_the_tokens_issued_after_it() -> None:
    earlier = revoked("sub", "s1", at=time.time() - 60)
    verifier = TokenVerifier(jwks_from_json(jwks()), issuer=ISS, audience=AUD, revocations=earlier)
    assert (await verifier.verify(sign(claims()))).subject == "s1"


def test_identity_events_say_what_they_revoke() -> None:
    now = datetime.now(UTC)
    envelope = {"event_id": uuid.uuid4(), "occurred_at": now, "producer": "identity",
                "citizen_id": uuid.uuid4(), "source_position": 1}  # fmt: skip
    logout = TokenRevoked(**envelope, subject="s1", jti="j1", session_id="s-1", reason="logout",
                          revoked_at=now, expires_at=now + timedelta(minutes=5))  # fmt: skip
    gone = StaffDeactivated(**envelope, subject="s1", role="auditor", deactivated_at=now,
                            tokens_expire_by=now + timedelta(minutes=5))  # fmt: skip
    assert {(r.kind, r.value) for r in revocations_of(logout)} == {("jti", "j1"), ("sid", "s-1")}
    assert [(r.kind, r.value) for r in revocations_of(gone)] == [("sub", "s1")]
