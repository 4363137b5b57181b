"""The proxy guard: a token acting for someone reaches only what its scopes open, while its
relationship lasts, and what it saves names the proxy too."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI

from rse_shared.acting import ActingScope, acting_now
from rse_shared.auth import AuthError, CurrentPrincipal, Forbidden, principal_from
from rse_shared.contracts import ConsentRevoked, envelope_of
from rse_shared.eventstore import ServiceApplication, in_thread
from rse_shared.http import install_problem_handlers
from rse_shared.proxy import OPENS, SCOPES, scope_opening
from rse_shared.settings import ServiceSettings
from rse_shared.testing.tokens import TokenMint, bearer

RELATIONSHIP = uuid.uuid4()
CITIZEN, PROXY = uuid.uuid4(), uuid.uuid4()


class Booking(Aggregate):
    @event("Booked")
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id


class Requests(ServiceApplication):
    """A stand-in service application that knows which relationships ended."""

    ended: set[uuid.UUID]

    def relationship_ended(self, relationship_id: uuid.UUID) -> bool:
        return relationship_id in self.ended


@pytest.fixture
def mint() -> TokenMint:
    return TokenMint(ServiceSettings(service_name="requests", environment="test"))


@pytest.fixture
def app(mint: TokenMint) -> FastAPI:
    api = FastAPI()
    application = Requests()
    application.ended = set()
    api.state.app, api.state.service_name = application, "requests"
    api.state.token_verifier = mint.verifier()
    api.add_middleware(ActingScope)
    install_problem_handlers(api, {AuthError: 401, Forbidden: 403})

    @api.post("/citizens/{citizen_id}/appointments")
    async def book(citizen_id: uuid.UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        booking = Booking(citizen_id)
        await in_thread(application.save, booking)
        stored = application.repository.get(booking.id)
        return {"id": str(stored.id), "acting": acting_now() is not None}

    @api.get("/citizens/{citizen_id}/renewals")
    async def renewals(citizen_id: uuid.UUID, principal: CurrentPrincipal) -> list[str]:
        return []

    return api


def acting(mint: TokenMint, scopes: str = "appointments", **claims: Any) -> dict[str, str]:
    fields = {
        "citizen_id": str(CITIZEN),
        "act": {"sub": str(PROXY)},
        "scope": scopes,
        "rel": str(RELATIONSHIP),
        "proxy_kind": "informal_caregiver",
        **claims,
    }
    return bearer(mint.token("citizen", **{k: v for k, v in fields.items() if v is not None}))


async def call(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://requests") as client:
        return await client.request(method, path, headers=headers)


async def test_a_proxy_reaches_what_its_scope_opens_and_nothing_else(
    app: FastAPI, mint: TokenMint
) -> None:
    booked = await call(app, "POST", f"/citizens/{CITIZEN}/appointments", acting(mint))
    assert booked.status_code == 200 and booked.json()["acting"] is True
    refused = await call(app, "GET", f"/citizens/{CITIZEN}/renewals", acting(mint))
    assert refused.status_code == 403
    assert "does not cover" in refused.json()["detail"]


async def test_a_relationship_the_service_knows_ended_is_refused(
    app: FastAPI, mint: TokenMint
) -> None:
    """Attacker: a caregiver, revoked by the citizen, still holding an unexpired token.
    Stopped by: the guard asking the service's own store, fed by identity.events."""
    app.state.app.ended.add(RELATIONSHIP)
    refused = await call(app, "POST", f"/citizens/{CITIZEN}/appointments", acting(mint))
    assert refused.status_code == 403
    assert "ended" in refused.json()["detail"]


async def test_a_service_that_cannot_tell_takes_no_proxies(app: FastAPI, mint: TokenMint) -> None:
    app.state.app = object()
    refused = await call(app, "POST", f"/citizens/{CITIZEN}/appointments", acting(mint))
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "broken",
    [
        {"act": {"sub": str(PROXY), "act": {"sub": "someone else"}}},  # a chain of actors
        {"rel": None},
        {"scope": None},
        {"act": "not an object"},
    ],
    ids=["chain", "no relationship", "no scope", "malformed act"],
)
async def test_a_malformed_or_chained_act_claim_is_not_a_token(
    app: FastAPI, mint: TokenMint, broken: dict[str, Any]
) -> None:
    response = await call(app, "POST", f"/citizens/{CITIZEN}/appointments", acting(mint, **broken))
    assert response.status_code == 401


async def test_what_a_proxy_saves_names_them_and_the_next_request_does_not(
    app: FastAPI, mint: TokenMint
) -> None:
    booked = await call(app, "POST", f"/citizens/{CITIZEN}/appointments", acting(mint))
    own = await call(app, "POST", f"/citizens/{CITIZEN}/appointments", mint.citizen(CITIZEN))
    assert own.status_code == 200 and own.json()["acting"] is False
    application = app.state.app
    by_proxy = next(iter(application.events.get(uuid.UUID(booked.json()["id"]))))
    by_citizen = next(iter(application.events.get(uuid.UUID(own.json()["id"]))))
    envelope = envelope_of(by_proxy, 1, "requests")
    assert envelope["proxy"].actor_id == str(PROXY)
    assert envelope["proxy"].relationship_id == RELATIONSHIP
    assert "proxy" not in envelope_of(by_citizen, 2, "requests")


def test_an_event_without_a_proxy_is_published_as_it_always_was() -> None:
    fields = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "producer": "consent",
        "citizen_id": CITIZEN,
        "source_position": 1,
        "consent_id": uuid.uuid4(),
        "revoked_at": datetime.now(UTC),
    }
    assert "proxy" not in ConsentRevoked(**fields).to_wire()
    proxy = {"actor_id": str(PROXY), "relationship_id": str(RELATIONSHIP), "kind": "x"}
    assert ConsentRevoked(**fields, proxy=proxy).to_wire()["proxy"]["actor_id"] == str(PROXY)


def test_a_proxy_token_without_act_is_a_citizen_s_own() -> None:
    principal = principal_from({"sub": "s", "role": "citizen", "citizen_id": "c"})
    assert principal.actor is None and principal.scopes is None


def test_every_scope_opens_something_and_no_route_is_opened_twice() -> None:
    assert set(OPENS) == set(SCOPES) and all(OPENS.values())
    routes = [e for endpoints in OPENS.values() for e in endpoints]
    assert len(routes) == len(set(routes))
    assert scope_opening("requests", "get", "/citizens/{citizen_id}/appointments") == "appointments"
    assert scope_opening("requests", "GET", "/practitioners/{practitioner_id}/agenda") is None
