"""Revoked tokens, end to end: a logout or a deactivation at identity reaches every service
through identity.events, and each refuses the session's tokens within seconds; and each
service takes only tokens for its own audience, typed at+jwt."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from rse_shared.testing import eventually, staff_login

from .conftest import Platform
from .flows import register_citizen, staff

pytestmark = pytest.mark.integration

# A route of each service the citizen may call with their own token.
OWN = {
    "consent": "/citizens/{citizen_id}/consents",
    "records": "/records/{citizen_id}",
    "requests": "/citizens/{citizen_id}/appointments",
    "benefits": "/citizens/{citizen_id}/benefits",
}
WITHIN = 10.0  # seconds: "within seconds"
FIGURES = Path(os.environ.get("RSE_FIGURES_DIR", "/tmp")) / "identity-revocation-figures.txt"


async def refused_after(client: httpx.AsyncClient, path: str, auth: dict[str, str]) -> float:
    """Seconds until `client` answers 401 to `path` (polling every 20 ms)."""
    started = time.monotonic()

    async def refused() -> bool:
        return (await client.get(path, headers=auth)).status_code == 401

    await eventually(refused, timeout=WITHIN, every=0.02)
    return time.monotonic() - started


async def test_a_logged_out_session_is_refused_by_every_service_within_seconds(
    platform: Platform,
) -> None:
    citizen = await register_citizen(platform["identity"])
    paths = {name: path.format(**citizen) for name, path in OWN.items()}
    for name, path in paths.items():  # each service's client gets its session token now
        response = await platform[name].get(path, headers=citizen["auth"])
        assert response.status_code != 401, (name, response.text)
    logout = await platform["identity"].post("/auth/logout", headers=citizen["auth"])
    assert logout.status_code == 204
    delays = await asyncio.gather(
        *(refused_after(platform[name], path, citizen["auth"]) for name, path in paths.items())
    )
    figures = dict(zip(paths, delays, strict=True))
    line = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures.items())
    with FIGURES.open("a") as out:
        out.write(f"logout -> 401: {line}\n")
    assert max(delays) < WITHIN


async def test_a_deactivated_professionals_live_token_stops_working_at_records(
    platform: Platform,
) -> None:
    identity = platform["identity"]
    citizen = await register_citizen(identity)
    name = f"dr.{uuid.uuid4().hex[:8]}"
    platform.services["identity"].app.provision_staff(
        username=name,
        password="staff password 1",
        role="professional",
        practitioner_id=f"P-{name}",
        health_unit="USF Tejo",
    )
    doctor = bearer(await staff_login(identity, name, "staff password 1"))
    operator = await staff(platform.services["identity"], identity, "operator")
    path = f"/records/{citizen['citizen_id']}"
    assert (await platform["records"].get(path, headers=doctor)).status_code != 401
    gone = await identity.post(f"/staff/{name}/deactivation", headers=operator)
    assert gone.status_code == 204
    delay = await refused_after(platform["records"], path, doctor)
    with FIGURES.open("a") as out:
        out.write(f"deactivation -> records 401: {delay:.2f} s\n")
    assert delay < WITHIN
    again = await identity.post(
        "/auth/token", json={"username": name, "password": "staff password 1"}
    )
    assert again.status_code == 401


async def test_each_service_refuses_a_token_for_another_or_untyped(platform: Platform) -> None:
    citizen = await register_citizen(platform["identity"])
    issuer = platform.services["identity"].api.state.token_issuer
    claims = jwt.decode(citizen["auth"]["Authorization"][7:], options={"verify_signature": False})
    kept = {k: v for k, v in claims.items() if k in ("sub", "role", "citizen_id", "amr", "sid")}
    path = f"/records/{citizen['citizen_id']}"
    for_consent = issuer.issue(kept, "rse-consent")
    for_records = issuer.issue(kept, "rse-records")
    untyped = jwt.encode(
        jwt.decode(for_records, options={"verify_signature": False}),
        issuer.key,
        algorithm="EdDSA",
        headers={"kid": issuer.kid},
    )
    records = platform["records"]
    assert (await records.get(path, headers=bearer(for_records))).status_code != 401
    for token in (for_consent, untyped):
        refused = await records.get(path, headers=bearer(token))
        assert refused.status_code == 401, refused.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
