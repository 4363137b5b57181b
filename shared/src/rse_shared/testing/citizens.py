"""Citizens as identity now requires them: registered through the form, then activated at a
health-unit counter (an operator issues a one-time code, the citizen enters it).

Every test, benchmark and demo that registers a citizen and logs them in goes through
`Counter`: one place that knows the activation steps. A client of identity gets its counter
once (`open_counter`), and helpers that are handed only the client find it (`counter_for`).
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Mapping
from typing import Any

import httpx

from rse_shared.testing.logins import staff_login

OPERATOR_PASSWORD = "counter operator password"


class Counter:
    """A health-unit counter: an operator of identity who activates registered citizens."""

    def __init__(self, identity: httpx.AsyncClient, operator: Mapping[str, str]) -> None:
        self.identity = identity
        self.operator = dict(operator)

    async def issue_code(self, citizen_id: str) -> str:
        """The one-time code the operator reads out to the citizen."""
        issued = await self.identity.post(
            f"/citizens/{citizen_id}/activation-codes", headers=self.operator
        )
        assert issued.status_code == 201, issued.text
        return str(issued.json()["code"])

    async def activate(self, citizen_id: str, sns_number: str, password: str | None = None) -> None:
        """The citizen enters the code: their account opens (with `password`, if given)."""
        body: dict[str, Any] = {"sns_number": sns_number, "code": await self.issue_code(citizen_id)}
        if password is not None:
            body["password"] = password
        activated = await self.identity.post("/citizens/activate", json=body)
        assert activated.status_code == 204, activated.text

    async def register(self, body: Mapping[str, Any]) -> str:
        """Register `body` through the form and activate the citizen; their id."""
        created = await self.identity.post("/citizens", json=dict(body))
        assert created.status_code == 201, created.text
        citizen_id = str(created.json()["citizen_id"])
        await self.activate(citizen_id, str(body["sns_number"]))
        return citizen_id


_counters: weakref.WeakKeyDictionary[httpx.AsyncClient, Counter] = weakref.WeakKeyDictionary()


async def open_counter(identity_service: Any, identity: httpx.AsyncClient) -> Counter:
    """A counter on `identity` (a client of `identity_service`), its operator provisioned
    directly, as the operator's CLI would; `counter_for(identity)` finds it afterwards."""
    username = f"counter{uuid.uuid4().hex[:8]}"
    identity_service.app.provision_staff(
        username=username, password=OPERATOR_PASSWORD, role="operator"
    )
    # Staff log in with a second factor: the shared helper enrols it the first time.
    token = await staff_login(identity, username, OPERATOR_PASSWORD)
    counter = Counter(identity, {"Authorization": f"Bearer {token}"})
    _counters[identity] = counter
    return counter


def counter_for(identity: httpx.AsyncClient) -> Counter:
    """The counter opened on this client of identity."""
    try:
        return _counters[identity]
    except KeyError:
        raise LookupError("no counter on this identity client: call open_counter first") from None
