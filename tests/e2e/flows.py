"""Steps the end-to-end tests share: register, log in, provision staff."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

_n = iter(range(1, 10_000_000))


def nif_for(seed: int) -> str:
    first8 = f"2{seed % 10**7:07d}"
    total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return first8 + str(0 if check >= 10 else check)


async def register_citizen(identity: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """Register a new citizen and log them in; returns ids, credentials and auth header."""
    seed = (uuid.uuid4().int + next(_n)) % 10**8
    body = {"full_name": "Maria Santos", "date_of_birth": "1975-03-02", "nif": nif_for(seed),
            "sns_number": f"3{seed:08d}", "email": "maria@example.pt",
            "phone": "+351913000000", "address": "Rua B, Porto",
            "password": "a long enough secret", **overrides}
    created = await identity.post("/citizens", json=body)
    assert created.status_code == 201, created.text
    token = await login(identity, body["sns_number"], body["password"])
    return {"citizen_id": created.json()["citizen_id"], "body": body,
            "auth": {"Authorization": f"Bearer {token}"}}


async def login(identity: httpx.AsyncClient, username: str, password: str) -> str:
    response = await identity.post("/auth/token",
                                   json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def staff(identity_service: Any, identity: httpx.AsyncClient, role: str,
                **claims: str) -> dict[str, str]:
    """Provision a staff account (directly, as the operator's CLI would) and log it in."""
    username = f"{role.replace('_', '')}{uuid.uuid4().hex[:8]}"
    identity_service.app.provision_staff(username=username, password="staff password 1",
                                         role=role, **claims)
    token = await login(identity, username, "staff password 1")
    return {"Authorization": f"Bearer {token}"}
