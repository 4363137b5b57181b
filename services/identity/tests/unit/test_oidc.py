"""The ID token verifier and the claims it takes, with keys made here (no provider)."""

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rse_identity.domain.oidc_login import OidcLoginRefused
from rse_identity.oidc import ClaimsRefused, code_challenge, proven_identity, verify_id_token

ISSUER, CLIENT, NONCE = "http://idp.test/realms/rse", "rse-identity", "the-nonce"
PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CITIZEN = {
    "sns_number": "410000001",
    "nif": "234567899",
    "name": "Ana Silva",
    "birthdate": "1980-05-17",
    "email": "ana@example.pt",
}


def id_token(key: Any = PROVIDER_KEY, alg: str = "RS256", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        **CITIZEN,
        **overrides,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=alg)


def the_providers_key(_token: str) -> Any:
    return PROVIDER_KEY.public_key()  # what the provider's JWKS holds


def verify(token: str, key_for: Callable[[str], Any] = the_providers_key) -> dict[str, Any]:
    return verify_id_token(token, key_for, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def test_a_token_of_the_provider_for_us_and_this_login_verifies() -> None:
    claims = verify(id_token())
    assert proven_identity(claims).nif == "234567899"


def test_an_es256_token_verifies_with_its_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert verify(id_token(key, "ES256"), lambda _: key.public_key())["sub"] == "user-1"


def test_a_token_signed_with_another_key_is_refused() -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(OidcLoginRefused, match="Signature verification failed"):
        verify(id_token(forger))


def test_an_expired_token_is_refused() -> None:
    past = int(time.time()) - 3600
    with pytest.raises(OidcLoginRefused, match="expired"):
        verify(id_token(iat=past - 300, exp=past))


@pytest.mark.parametrize(
    ("claim", "value", "why"),
    [
        ("aud", "another-client", "Audience"),
        ("iss", "http://evil.test/realms/rse", "Invalid issuer"),
        ("nonce", "another-login", "nonce"),
        ("nonce", None, "nonce"),
        ("exp", None, "exp"),
    ],
)
def test_a_token_for_another_party_or_login_is_refused(claim: str, value: Any, why: str) -> None:
    with pytest.raises(OidcLoginRefused, match=why):
        verify(id_token(**{claim: value}))


def test_a_token_for_several_audiences_needs_us_as_the_authorised_party() -> None:
    with pytest.raises(OidcLoginRefused, match="another party"):
        verify(id_token(aud=[CLIENT, "other"], azp="other"))
    assert verify(id_token(aud=[CLIENT, "other"], azp=CLIENT))


def test_unsigned_and_hmac_tokens_are_refused_before_any_key_is_used() -> None:
    unsigned = jwt.encode({"iss": ISSUER}, None, algorithm="none")
    hmac = id_token(b"k" * 32, "HS256")  # keyed, e.g., with the provider's public key text
    for token in (unsigned, hmac):
        with pytest.raises(OidcLoginRefused, match="not allowed"):
            verify(token)


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("nif", "234567890"),
        ("nif", None),
        ("sns_number", None),
        ("sns_number", "4100"),
        ("birthdate", "someday"),
        ("name", ""),
    ],
)
def test_claims_that_name_no_citizen_are_refused(claim: str, value: Any) -> None:
    claims = {**CITIZEN, claim: value}
    with pytest.raises(ClaimsRefused, match=claim):
        proven_identity({k: v for k, v in claims.items() if v is not None})


def test_the_pkce_challenge_is_rfc_7636_s256() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
