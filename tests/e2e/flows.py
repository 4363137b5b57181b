"""Steps the end-to-end tests share: register, log in, provision staff."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from rse_audit.compare import Difference, compare, compare_decisions
from rse_audit.permits import permits_without_consent
from rse_audit.provenance import entries_not_on_consent_events, records_cipher, register_changes
from rse_audit.replay import replay
from rse_audit.verify import verify
from rse_shared.eventstore import in_thread
from rse_shared.testing import counter_for, eventually, login, staff_login

_n = iter(range(1, 10_000_000))


def nif_for(seed: int) -> str:
    first8 = f"2{seed % 10**7:07d}"
    total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return first8 + str(0 if check >= 10 else check)


async def register_citizen(identity: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """Register a new citizen, activate them at the counter (`open_counter` on this client)
    and log them in; returns ids, credentials and auth header."""
    seed = (uuid.uuid4().int + next(_n)) % 10**8
    body = {
        "full_name": "Maria Santos",
        "date_of_birth": "1975-03-02",
        "nif": nif_for(seed),
        "sns_number": f"3{seed:08d}",
        "email": "maria@example.pt",
        "phone": "+351913000000",
        "address": "Rua B, Porto",
        "password": "a long enough secret",
        **overrides,
    }
    citizen_id = await counter_for(identity).register(body)
    token = await login(identity, body["sns_number"], body["password"])
    return {
        "citizen_id": citizen_id,
        "body": body,
        "auth": {"Authorization": f"Bearer {token}"},
    }


async def staff(
    identity_service: Any, identity: httpx.AsyncClient, role: str, **claims: str
) -> dict[str, str]:
    """Provision a staff account (directly, as the operator's CLI would) and log it in,
    enrolling its TOTP second factor on the way (staff must have one)."""
    username = f"{role.replace('_', '')}{uuid.uuid4().hex[:8]}"
    identity_service.app.provision_staff(
        username=username, password="staff password 1", role=role, **claims
    )
    token = await staff_login(identity, username, "staff password 1")
    return {"Authorization": f"Bearer {token}"}


async def assign_family_doctor(platform: Any, citizen_id: str) -> tuple[str, dict[str, str]]:
    """A new professional made the citizen's family doctor by an operator: their
    practitioner id and auth header."""
    identity = platform["identity"]
    practitioner = f"P-{citizen_id[:8]}"
    doctor = await staff(
        platform.services["identity"],
        identity,
        "professional",
        practitioner_id=practitioner,
        health_unit="USF Tejo",
    )
    operator = await staff(platform.services["identity"], identity, "operator")
    assigned = await identity.put(
        f"/citizens/{citizen_id}/family-doctor",
        headers=operator,
        json={"practitioner_id": practitioner, "health_unit": "USF Tejo"},
    )
    assert assigned.status_code == 204, assigned.text
    return practitioner, doctor


async def audit_differences(platform: Any, path: Path) -> list[Difference]:
    """What `rse-audit compare` names after a fresh replay of the platform's topics."""
    settings = platform.services["consent"].settings
    await in_thread(path.unlink, missing_ok=True)
    await replay(settings.kafka_bootstrap, list(platform.topics.values()), path)
    records = platform.services["records"].settings
    store = records.postgres_conninfo()
    cipher = records_cipher(records.keys_env()["RSE_STORE_KEY"], records.data_keyring("auditor"))
    changes = await in_thread(lambda: list(register_changes(store, cipher)))
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url)
    databases = {n: mongo[s.settings.mongo_db] for n, s in platform.services.items()}
    try:
        with sqlite3.connect(path) as db:
            return [
                *entries_not_on_consent_events(db, changes),
                *permits_without_consent(db),
                *await compare(db, databases["consent"]),
                *await compare_decisions(db, databases["requests"], databases["benefits"]),
            ]
    finally:
        await mongo.close()


async def replay_equals_live(platform: Any, tmp_path: Path) -> None:
    """The auditor: the topics verify, their replay equals the consent service's history,
    every permit had a published consent and every consent records holds was published."""
    settings = platform.services["consent"].settings
    _, findings = await verify(settings.kafka_bootstrap, list(platform.topics.values()))
    assert findings == [], findings

    named: list[Difference] = []

    async def same() -> bool:
        named[:] = await audit_differences(platform, tmp_path / "history.sqlite")
        return not named

    try:
        await eventually(same, timeout=40)
    except pytest.fail.Exception:
        pytest.fail("the audit names: " + "; ".join(map(str, named)))
