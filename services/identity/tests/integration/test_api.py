"""Service's HTTP API on the real servers: the newcomer's flow and every refusal."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rse_shared.service import Service
from rse_shared.testing import Counter, eventually, staff_login

pytestmark = pytest.mark.integration

_counter = iter(range(10_000_000))


def nif_with_check_digit(first8: str) -> str:
    total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return first8 + str(0 if check >= 10 else check)


def a_registration(**overrides: Any) -> dict[str, Any]:
    n = (uuid.uuid4().int + next(_counter)) % 10**8
    body = {
        "full_name": "Ana Silva",
        "date_of_birth": "1980-05-17",
        "nif": nif_with_check_digit(f"2{n:07d}"[:8]),
        "sns_number": f"1{n:08d}",
        "email": "ana@example.pt",
        "phone": "+351912345678",
        "address": "Rua A, Lisboa",
        "password": "correct horse battery",
    }
    body.update(overrides)
    return body


async def register(client: httpx.AsyncClient, **overrides: Any) -> tuple[str, dict[str, Any]]:
    body = a_registration(**overrides)
    response = await client.post("/citizens", json=body)
    assert response.status_code == 201, response.text
    return response.json()["citizen_id"], body


async def login(
    client: httpx.AsyncClient, username: str, password: str, totp_code: str | None = None
) -> httpx.Response:
    payload = {"username": username, "password": password}
    if totp_code:
        payload["totp_code"] = totp_code
    return await client.post("/auth/token", json=payload)


async def token_for(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await login(client, body["sns_number"], body["password"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PURPOSE = {"purpose": "checking the register after a deregistration"}


async def visible(client: httpx.AsyncClient, citizen_id: str, token: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        # An operator must say why they read; the citizen's own read ignores a purpose.
        response = await client.get(
            f"/citizens/{citizen_id}", headers=bearer(token), params=PURPOSE
        )
        return response.json() if response.status_code == 200 else None

    return await eventually(probe)


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


async def test_a_citizen_registers_enrols_totp_logs_in_and_reads_their_data(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    token = await token_for(client, body)
    data = await visible(client, citizen_id, token)
    assert data["sns_number"] == body["sns_number"] and data["status"] == "registered"

    enrolment = await client.post("/auth/totp", headers=bearer(token))
    totp = pyotp.parse_uri(enrolment.json()["otpauth_uri"])
    # The previous step's code (still in the drift window): the login below needs a later one.
    confirmed = await client.post(
        "/auth/totp/confirm", json={"code": totp.at(time.time() - 30)}, headers=bearer(token)
    )
    assert confirmed.status_code == 204
    assert_problem(await login(client, body["sns_number"], body["password"]), 401)
    with_code = await login(client, body["sns_number"], body["password"], totp.now())
    assert with_code.status_code == 200
    me = await client.get("/citizens/me", headers=bearer(with_code.json()["access_token"]))
    assert me.json()["citizen_id"] == citizen_id
    # The tokens say how the session was signed in (RFC 8176 amr): records relies on it.
    before = jwt.decode(token, options={"verify_signature": False})
    after = jwt.decode(with_code.json()["access_token"], options={"verify_signature": False})
    assert (before["amr"], after["amr"]) == (["pwd"], ["pwd", "otp"])


async def test_a_citizen_updates_contacts(client: httpx.AsyncClient, counter: Counter) -> None:
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    token = await token_for(client, body)
    await visible(client, citizen_id, token)
    response = await client.patch(
        f"/citizens/{citizen_id}/contacts", json={"email": "new@example.pt"}, headers=bearer(token)
    )
    assert response.status_code == 204

    async def updated() -> bool:
        data = await visible(client, citizen_id, token)
        return data["email"] == "new@example.pt"

    await eventually(updated)


async def test_an_operator_assigns_a_family_doctor_and_deregisters(
    client: httpx.AsyncClient, identity: Service, counter: Counter
) -> None:
    identity.app.provision_staff(username="op.one", password="operator password", role="operator")
    operator = await staff_login(client, "op.one", "operator password")
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    assert (await login(client, body["sns_number"], body["password"])).status_code == 200
    doctor = {"practitioner_id": "P-100", "health_unit": "USF Tejo"}
    assigned = await client.put(
        f"/citizens/{citizen_id}/family-doctor", json=doctor, headers=bearer(operator)
    )
    assert assigned.status_code == 204
    gone = await client.post(
        f"/citizens/{citizen_id}/deregistration",
        json={"reason": "emigration", "effective_date": "2026-11-01"},
        headers=bearer(operator),
    )
    assert gone.status_code == 204

    async def deregistered() -> dict[str, Any] | None:
        data = await visible(client, citizen_id, operator)
        return data if data["status"] == "deregistered" else None

    data = await eventually(deregistered)
    assert data["family_doctor"] == doctor
    assert_problem(await login(client, body["sns_number"], body["password"]), 401)


async def test_an_operator_provisions_a_professional_who_can_log_in(
    client: httpx.AsyncClient, identity: Service
) -> None:
    identity.app.provision_staff(username="op.two", password="operator password", role="operator")
    operator = await staff_login(client, "op.two", "operator password")
    created = await client.post(
        "/staff",
        headers=bearer(operator),
        json={
            "username": "dr.costa",
            "password": "professional pw",
            "role": "professional",
            "practitioner_id": "P-7",
            "health_unit": "USF Tejo",
        },
    )
    assert created.status_code == 201
    token = await staff_login(client, "dr.costa", "professional pw")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["role"] == "professional" and claims["practitioner_id"] == "P-7"
    denied = await client.post(
        "/staff",
        headers=bearer(token),
        json={"username": "sneaky", "password": "professional pw", "role": "operator"},
    )
    assert_problem(denied, 403)


async def test_repeated_failures_slow_down_then_lock(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    for _ in range(3):
        assert_problem(await login(client, body["sns_number"], "wrong password"), 401)
    throttled = await login(client, body["sns_number"], body["password"])
    assert_problem(throttled, 429)
    assert int(throttled.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nif", "123456788"),  # wrong check digit
        ("sns_number", "12345678"),  # 8 digits
        ("email", "not-an-email"),
        ("date_of_birth", "2999-01-01"),
    ],
)
async def test_bad_registration_data_is_refused_with_422(
    client: httpx.AsyncClient, field: str, value: str
) -> None:
    response = await client.post("/citizens", json=a_registration(**{field: value}))
    assert_problem(response, 422)
    assert any(field in error["loc"] for error in response.json()["errors"])


async def test_a_duplicate_sns_number_or_nif_conflicts(client: httpx.AsyncClient) -> None:
    _, body = await register(client)
    same_sns = a_registration(sns_number=body["sns_number"])
    assert_problem(await client.post("/citizens", json=same_sns), 409)
    same_nif = a_registration(nif=body["nif"])
    assert_problem(await client.post("/citizens", json=same_nif), 409)


async def test_malformed_json_is_refused_with_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/citizens", content=b'{"full_name": "Ana"', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422)


async def test_a_nul_character_is_refused_with_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/citizens", json=a_registration(full_name="Ana\x00Silva"))
    assert_problem(response, 422)
    assert_problem(await client.get("/citizens/me%00"), 422)


async def test_a_10_mb_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/citizens", content=b"x" * (10 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_personal_data_needs_a_token(client: httpx.AsyncClient) -> None:
    citizen_id, _ = await register(client)
    assert_problem(await client.get(f"/citizens/{citizen_id}"), 401)


def forged(
    claims: dict[str, Any],
    key: Any = None,
    alg: str = "EdDSA",
    headers: dict[str, Any] | None = None,
) -> str:
    return jwt.encode(claims, key or Ed25519PrivateKey.generate(), algorithm=alg, headers=headers)


def claims_for(identity: Service, citizen_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "citizen",
        "citizen_id": citizen_id,
        "iss": identity.settings.jwt_issuer,
        "aud": identity.settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return claims


async def test_expired_unsigned_and_foreign_tokens_are_refused(
    client: httpx.AsyncClient, identity: Service
) -> None:
    citizen_id, _ = await register(client)
    kid = {"kid": identity.api.state.token_issuer.kid}
    expired = forged(
        claims_for(identity, citizen_id, exp=int(time.time()) - 10),
        key=identity.api.state.token_issuer.key,
        headers=kid,
    )
    unsigned = jwt.encode(claims_for(identity, citizen_id), key=None, algorithm="none", headers=kid)
    foreign_key = forged(claims_for(identity, citizen_id), headers=kid)
    for token in (expired, unsigned, foreign_key, "not-a-token"):
        response = await client.get(f"/citizens/{citizen_id}", headers=bearer(token))
        assert_problem(response, 401)


async def test_a_citizen_cannot_read_another_citizens_data(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    victim_id, _ = await register(client)
    intruder_id, intruder = await register(client)
    await counter.activate(intruder_id, intruder["sns_number"])
    token = await token_for(client, intruder)
    assert_problem(await client.get(f"/citizens/{victim_id}", headers=bearer(token)), 403)
    patch = await client.patch(
        f"/citizens/{victim_id}/contacts", json={"phone": "+351900000000"}, headers=bearer(token)
    )
    assert_problem(patch, 403)


async def test_jwks_publishes_the_signing_key(client: httpx.AsyncClient, identity: Service) -> None:
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == [identity.api.state.token_issuer.kid]
    assert "d" not in keys[0]  # never the private part
