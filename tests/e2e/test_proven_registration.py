"""A citizen's record opens only to the person the identity provider or a counter proved.

Registration through Keycloak (the provider standing for Autenticação.gov): identity
takes the citizen from the ID token, records opens their health record, and the citizen
reads it. Registration through the form alone gives no token, so nothing clinical.
"""

from __future__ import annotations

import uuid

import pytest

from rse_shared.testing import counter_for, eventually
from rse_shared.testing.logins import remember
from rse_shared.testing.oidc import through_provider

from .conftest import Platform
from .flows import login, nif_for

pytestmark = pytest.mark.integration


async def test_a_citizen_registered_through_the_provider_reads_their_health_record(
    platform: Platform,
) -> None:
    identity, records = platform["identity"], platform["records"]
    answer = await through_provider(identity, "joao.costa")
    assert answer.status_code == 200, answer.text
    token = str(answer.json()["access_token"])
    auth = remember(identity, token, "joao.costa")

    async def known() -> str | None:
        found = await identity.get("/citizens/me", headers=auth)
        return str(found.json()["citizen_id"]) if found.status_code == 200 else None

    citizen_id = await eventually(known)

    async def record_open() -> bool:
        summary = await records.get(f"/records/{citizen_id}/health-summary", headers=auth)
        return summary.status_code == 200

    await eventually(record_open, timeout=30)


async def test_a_citizen_registered_through_the_form_reads_nothing_until_activated(
    platform: Platform,
) -> None:
    identity, records = platform["identity"], platform["records"]
    seed = uuid.uuid4().int % 10**8
    sns, password = f"6{seed:08d}", "a long enough secret"
    body = {
        "full_name": "Rosa Lima",
        "date_of_birth": "1970-01-01",
        "nif": nif_for(seed),
        "sns_number": sns,
        "email": "rosa@example.pt",
        "phone": "+351913000000",
        "address": "Rua F, Évora",
        "password": password,
    }
    created = await identity.post("/citizens", json=body)
    assert created.status_code == 201, created.text
    citizen_id = created.json()["citizen_id"]
    refused = await identity.post("/auth/token", json={"username": sns, "password": password})
    assert refused.status_code == 401  # no token: nothing clinical can be asked for
    assert (await records.get(f"/records/{citizen_id}/health-summary")).status_code == 401
    await counter_for(identity).activate(citizen_id, sns)
    auth = {"Authorization": f"Bearer {await login(identity, sns, password)}"}

    async def record_open() -> bool:
        summary = await records.get(f"/records/{citizen_id}/health-summary", headers=auth)
        return summary.status_code == 200

    await eventually(record_open, timeout=30)
