"""Attacks on login, the second factor and sessions, played against identity's API on the
real servers: parallel guesses, replayed codes, staff without TOTP, revoked tokens."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pyotp
import pytest

from rse_identity.bootstrap import bootstrap, token_issuer
from rse_identity.config import Settings
from rse_identity.signing_keys import retired_keys, rotate_key
from rse_shared.auth import TokenVerifier, jwks_from_json
from rse_shared.service import Service
from rse_shared.testing import Counter, Kit, asgi_client, counter_for, open_counter, staff_login
from rse_shared.testing.logins import authenticator_of

from .conftest import FAST_HASHER
from .test_api import assert_problem, bearer, login, token_for
from .test_api import register as register_by_form

pytestmark = pytest.mark.integration

LOCK_AFTER = 5


@pytest.fixture
async def strict(kit: Kit, new_topic: Callable[[str], Awaitable[str]]) -> AsyncIterator[Service]:
    """Identity locking after LOCK_AFTER failures, with no slow-down before."""
    settings = kit.settings(Settings, login_slow_after=LOCK_AFTER, login_lock_after=LOCK_AFTER)
    topics = {"identity": await new_topic("identity")}
    async with kit.serve(bootstrap, settings, topics, hasher=FAST_HASHER) as service:
        yield service


@pytest.fixture
async def guarded(strict: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(strict) as http:
        await open_counter(strict, http)
        yield http


@pytest.fixture(autouse=True)
def _client_counter(counter: Counter) -> None:
    """Citizens of these tests are activated at a counter of the identity they use."""


async def register(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """A citizen registered by the form and activated at the client's counter."""
    citizen_id, body = await register_by_form(client)
    await counter_for(client).activate(citizen_id, body["sns_number"])
    return citizen_id, body


async def test_parallel_wrong_guesses_lock_the_account_after_exactly_the_configured_number(
    guarded: httpx.AsyncClient,
) -> None:
    _, body = await register_by_form(guarded)  # not activated: its failures count alike
    guesses = [login(guarded, body["sns_number"], f"guess {n}") for n in range(8)]
    answers = await asyncio.gather(*guesses)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * LOCK_AFTER + [429] * (8 - LOCK_AFTER)
    locked = await login(guarded, body["sns_number"], body["password"])
    assert_problem(locked, 429)  # the right password too, until the lock-out ends
    assert locked.json()["detail"] == "account locked"
    assert int(locked.headers["Retry-After"]) > 60


async def test_an_operator_at_the_counter_clears_a_lockout(
    guarded: httpx.AsyncClient, strict: Service
) -> None:
    _, body = await register(guarded)
    for n in range(LOCK_AFTER):
        assert_problem(await login(guarded, body["sns_number"], f"guess {n}"), 401)
    assert_problem(await login(guarded, body["sns_number"], body["password"]), 429)
    strict.app.provision_staff(username="op.counter", password="operator password", role="operator")
    operator = await staff_login(guarded, "op.counter", "operator password")
    cleared = await guarded.delete(f"/auth/lockouts/{body['sns_number']}", headers=bearer(operator))
    assert cleared.status_code == 204
    assert (await login(guarded, body["sns_number"], body["password"])).status_code == 200


async def test_unknown_usernames_are_throttled_like_known_ones(
    guarded: httpx.AsyncClient,
) -> None:
    _, body = await register(guarded)
    for username in (body["sns_number"], "999999998"):
        answers = [await login(guarded, username, "wrong") for _ in range(LOCK_AFTER + 1)]
        assert [r.status_code for r in answers] == [401] * LOCK_AFTER + [429]
        assert answers[-1].json()["detail"] == "account locked"


async def enrolled_citizen(client: httpx.AsyncClient) -> tuple[dict[str, str], pyotp.TOTP, str]:
    _, body = await register(client)
    token = await token_for(client, body)
    started = await client.post("/auth/totp", headers=bearer(token))
    totp = pyotp.parse_uri(started.json()["otpauth_uri"])
    assert isinstance(totp, pyotp.TOTP)
    code = totp.at(time.time() - 30)
    confirmed = await client.post("/auth/totp/confirm", json={"code": code}, headers=bearer(token))
    assert confirmed.status_code == 204
    return body, totp, token


async def test_a_totp_code_is_refused_the_second_time(client: httpx.AsyncClient) -> None:
    body, totp, _ = await enrolled_citizen(client)
    code = totp.now()
    first = await login(client, body["sns_number"], body["password"], code)
    assert first.status_code == 200
    replayed = await login(client, body["sns_number"], body["password"], code)
    assert_problem(replayed, 401)


async def test_re_enrolment_without_the_password_and_a_current_code_is_refused(
    client: httpx.AsyncClient,
) -> None:
    body, totp, token = await enrolled_citizen(client)
    assert_problem(await client.post("/auth/totp", headers=bearer(token)), 409)
    wrong_password = {"password": "not the password", "code": totp.now()}
    refused = await client.post("/auth/totp", json=wrong_password, headers=bearer(token))
    assert_problem(refused, 401)
    proof = {"password": body["password"], "code": totp.now()}
    assert (await client.post("/auth/totp", json=proof, headers=bearer(token))).status_code == 200


async def test_staff_without_a_second_factor_get_a_token_good_only_to_enrol(
    client: httpx.AsyncClient, identity: Service
) -> None:
    identity.app.provision_staff(username="op.new", password="operator password", role="operator")
    first = await login(client, "op.new", "operator password")
    assert first.json()["audience"] == "rse-identity-enrolment"
    limited = bearer(first.json()["access_token"])
    staff = {"username": "dr.x", "password": "professional pw", "role": "auditor"}
    assert_problem(await client.post("/staff", json=staff, headers=limited), 401)
    exchanged = await client.post(
        "/auth/exchange", json={"audience": "rse-records"}, headers=limited
    )
    assert_problem(exchanged, 401)
    # Enrolled, the password alone no longer logs in at all.
    operator = await staff_login(client, "op.new", "operator password")
    assert (await client.post("/staff", json=staff, headers=bearer(operator))).status_code == 201
    assert_problem(await login(client, "op.new", "operator password"), 401)


async def test_a_second_account_for_the_same_practitioner_conflicts(
    client: httpx.AsyncClient, identity: Service
) -> None:
    identity.app.provision_staff(username="op.prov", password="operator password", role="operator")
    operator = bearer(await staff_login(client, "op.prov", "operator password"))
    doctor = {"role": "professional", "practitioner_id": "P-55", "health_unit": "USF Tejo"}
    first = {"username": "dr.one", "password": "professional pw", **doctor}
    assert (await client.post("/staff", json=first, headers=operator)).status_code == 201
    second = {**first, "username": "dr.two"}
    assert_problem(await client.post("/staff", json=second, headers=operator), 409)


async def test_a_deactivated_professional_cannot_log_in_and_their_token_stops_working(
    client: httpx.AsyncClient, identity: Service
) -> None:
    identity.app.provision_staff(username="op.life", password="operator password", role="operator")
    operator = bearer(await staff_login(client, "op.life", "operator password"))
    identity.app.provision_staff(username="aud.one", password="auditor password", role="auditor")
    auditor = bearer(await staff_login(client, "aud.one", "auditor password"))
    assert (
        await client.post("/auth/exchange", json={"audience": "rse-consent"}, headers=auditor)
    ).status_code == 200
    gone = await client.post("/staff/aud.one/deactivation", headers=operator)
    assert gone.status_code == 204
    refused = await client.post("/auth/exchange", json={"audience": "rse-consent"}, headers=auditor)
    assert_problem(refused, 401)
    authenticator = authenticator_of(client, "aud.one")
    assert authenticator is not None
    code = await authenticator.next_code()
    deactivated = await login(client, "aud.one", "auditor password", code)
    assert_problem(deactivated, 401)
    assert deactivated.json()["detail"] == "account deactivated"
    back = await client.post("/staff/aud.one/reactivation", headers=operator)
    assert back.status_code == 204
    assert await staff_login(client, "aud.one", "auditor password")


async def test_a_logged_out_token_and_its_session_are_refused(client: httpx.AsyncClient) -> None:
    _, body = await register(client)
    token = await token_for(client, body)
    other = await client.post(
        "/auth/exchange", json={"audience": "rse-identity"}, headers=bearer(token)
    )
    assert (await client.get("/citizens/me", headers=bearer(token))).status_code in (200, 404)
    assert (await client.post("/auth/logout", headers=bearer(token))).status_code == 204
    for revoked in (token, other.json()["access_token"]):
        assert_problem(await client.get("/citizens/me", headers=bearer(revoked)), 401)
    fresh = await token_for(client, body)  # logging in again starts a new session
    assert (await client.get("/citizens/me", headers=bearer(fresh))).status_code in (200, 404)


async def test_a_password_change_needs_the_current_password(client: httpx.AsyncClient) -> None:
    _, body = await register(client)
    token = bearer(await token_for(client, body))
    wrong = {"current_password": "not it", "new_password": "a brand new password"}
    assert_problem(await client.post("/auth/password", json=wrong, headers=token), 401)
    right = {"current_password": body["password"], "new_password": "a brand new password"}
    assert (await client.post("/auth/password", json=right, headers=token)).status_code == 204
    assert (await login(client, body["sns_number"], "a brand new password")).status_code == 200


async def test_tokens_name_one_service_and_are_typed_at_jwt(client: httpx.AsyncClient) -> None:
    _, body = await register(client)
    response = await client.post(
        "/auth/token",
        json={
            "username": body["sns_number"],
            "password": body["password"],
            "audience": "rse-records",
        },
    )
    token = response.json()["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "rse-records" and claims["jti"] and claims["sid"]
    # identity's own routes take only identity's audience.
    assert_problem(await client.get("/citizens/me", headers=bearer(token)), 401)
    unknown = {"username": body["sns_number"], "password": body["password"], "audience": "rse-x"}
    assert_problem(await client.post("/auth/token", json=unknown), 422)


async def test_a_token_signed_before_a_key_rotation_verifies_during_the_overlap(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "signing.pem"
    settings = Settings(environment="test", signing_key_file=key_file)
    old = token_issuer(settings)
    token = old.issue({"sub": str(uuid.uuid4()), "role": "citizen"}, "rse-records")
    rotate_key(key_file, overlap=settings.signing_key_overlap_seconds)
    new = token_issuer(settings)
    assert new.kid != old.kid and {k["kid"] for k in new.jwks()["keys"]} == {new.kid, old.kid}

    verifier = TokenVerifier(
        jwks_from_json(json.dumps(new.jwks())), issuer=settings.jwt_issuer, audience="rse-records"
    )
    assert (await verifier.verify(token)).role == "citizen"
    assert retired_keys(key_file, overlap=0) == []  # past the overlap, the old key is gone
