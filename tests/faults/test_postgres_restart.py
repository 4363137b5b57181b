"""PostgreSQL SIGKILLed and restarted during a steady load of commands.

Invariant: every request gets a definite answer within a bounded time — a 2xx, or a
problem+json 503 (with Retry-After) or 409, never a 500 and never a hang; afterwards every
command answered 2xx is in the event store, every aggregate's versions run 1..n with no
gap and no duplicate, a registration (three aggregates in one transaction) is there whole
or not at all, and the service recovers by itself: commands succeed again, the relay
publishes the backlog and the citizen directory catches up, with no restart.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from rse_identity.domain.activation import Activation
from rse_identity.domain.citizen import Citizen
from rse_identity.domain.nif_claim import NifClaim
from rse_identity.domain.sns_claim import SnsClaim
from rse_shared.eventstore import in_thread
from rse_shared.keyring import PostgresKeyring, new_key
from rse_shared.service import Service
from rse_shared.testing import documents, eventually, read_topic
from tests.e2e.conftest import Platform
from tests.e2e.flows import nif_for, staff
from tests.faults.conftest import FaultServers

pytestmark = pytest.mark.integration

CLIENTS = 6
OUTAGE = 15.0  # seconds: longer than the event store's retries (about 10 x 1.2 s)
ANSWER_WITHIN = 20.0  # seconds: a request still open after this counts as a hang
DEFINITE_ERRORS = {409, 503}


@dataclass
class Load:
    """Commands sent while the database goes away, with every answer (or hang) noted."""

    identity: httpx.AsyncClient
    operator: dict[str, str]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answers: list[tuple[str, float, httpx.Response | None]] = field(default_factory=list)
    registered: dict[str, dict[str, str]] = field(default_factory=dict)  # citizen id -> body
    emails: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    doctors: dict[str, str] = field(default_factory=dict)

    async def send(self, what: str, request: Any) -> httpx.Response | None:
        sent = time.monotonic()
        try:
            response: httpx.Response | None = await asyncio.wait_for(request, ANSWER_WITHIN)
        except TimeoutError:
            response = None
        self.answers.append((what, sent, response))
        return response

    async def client(self) -> None:
        """Register citizens and change each one's data, one command after another."""
        while not self.stop.is_set():
            body = registration()
            created = await self.send("register", self.identity.post("/citizens", json=body))
            if created is None or created.status_code != 201:
                continue
            citizen_id = created.json()["citizen_id"]
            self.registered[citizen_id] = body
            for _ in range(2):
                email = f"m{uuid.uuid4().hex[:10]}@example.pt"
                changed = await self.send(
                    "contacts",
                    self.identity.patch(
                        f"/citizens/{citizen_id}/contacts",
                        headers=self.operator,
                        json={"email": email},
                    ),
                )
                if changed is not None and changed.status_code == 204:
                    self.emails[citizen_id].append(email)
            doctor = f"P-{uuid.uuid4().hex[:8]}"
            assigned = await self.send(
                "doctor",
                self.identity.put(
                    f"/citizens/{citizen_id}/family-doctor",
                    headers=self.operator,
                    json={"practitioner_id": doctor, "health_unit": "USF Douro"},
                ),
            )
            if assigned is not None and assigned.status_code == 204:
                self.doctors[citizen_id] = doctor

    def succeeded_since(self, moment: float) -> bool:
        return any(r is not None and r.is_success and sent >= moment for _, sent, r in self.answers)


def registration() -> dict[str, str]:
    seed = uuid.uuid4().int % 10**8
    return {
        "full_name": "Rui Costa",
        "date_of_birth": "1969-11-23",
        "nif": nif_for(seed),
        "sns_number": f"4{seed:08d}",
        "email": "rui@example.pt",
        "phone": "+351912000000",
        "address": "Rua C, Braga",
        "password": "a long enough secret",
    }


def stored_events(service: Service) -> list[Any]:
    """Every stored event of the service, read straight from its table, in order."""
    with psycopg.connect(service.settings.postgres_conninfo()) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state "
            "FROM identity_events ORDER BY notification_id"
        ).fetchall()
    return [service.app.mapper.to_domain_event(StoredEvent(*row)) for row in rows]


def check_versions_contiguous(events: list[Any]) -> None:
    versions: dict[uuid.UUID, list[int]] = defaultdict(list)
    for event in events:
        versions[event.originator_id].append(event.originator_version)
    broken = {o: v for o, v in versions.items() if sorted(v) != list(range(1, len(v) + 1))}
    assert broken == {}, f"aggregates with duplicate or missing versions: {broken}"


def check_registrations_whole(events: list[Any]) -> None:
    """Each stored citizen has its SNS and NIF claims and its pending activation (the form
    opens no account before it), and each NIF claim its citizen."""
    created = {e.originator_id: e for e in events if e.originator_version == 1}
    for event in created.values():
        if isinstance(event, Citizen.Registered):
            assert NifClaim.create_id(event.nif) in created, event
            assert SnsClaim.create_id(event.sns_number) in created, event
            assert Activation.create_id(event.originator_id) in created, event
        if isinstance(event, NifClaim.Claimed):
            assert event.citizen_id in created, event


async def test_each_command_gets_a_definite_answer_and_nothing_is_written_partly(
    platform: Platform,
    servers: FaultServers,
) -> None:
    service = platform.services["identity"]
    identity = platform["identity"]
    load = Load(identity, await staff(service, identity, "operator"))
    clients = [asyncio.create_task(load.client()) for _ in range(CLIENTS)]
    try:
        await asyncio.sleep(1.5)
        servers.kill("postgres")
        await asyncio.sleep(OUTAGE)
        servers.start("postgres")
        restarted = time.monotonic()

        async def recovered() -> bool:
            return load.succeeded_since(restarted)

        await eventually(recovered, timeout=30)
    finally:
        servers.start("postgres")
        load.stop.set()
        await asyncio.gather(*clients)

    check_every_answer_definite(load)
    events = stored_events(service)
    check_versions_contiguous(events)
    check_registrations_whole(events)
    await check_every_success_stored(service, load)
    citizens = {str(e.originator_id) for e in events if isinstance(e, Citizen.Registered)}
    await check_published(platform, citizens)
    await check_projected(service, events, citizens)


def check_every_answer_definite(load: Load) -> None:
    hung = [what for what, _, response in load.answers if response is None]
    assert hung == [], f"requests with no answer within {ANSWER_WITHIN}s: {hung}"
    failed = [r for _, _, r in load.answers if r is not None and not r.is_success]
    indefinite = [
        (r.status_code, r.text)
        for r in failed
        if r.status_code not in DEFINITE_ERRORS
        or r.headers["content-type"] != "application/problem+json"
    ]
    assert indefinite == []
    unavailable = [r for r in failed if r.status_code == 503]
    assert unavailable, "an outage longer than the store's retries must have shown as 503"
    assert all(r.headers.get("retry-after") for r in unavailable)


async def check_every_success_stored(service: Service, load: Load) -> None:
    """Each 201 registration and each 204 change is in the citizen's stream."""
    for citizen_id, body in load.registered.items():
        stream = await in_thread(lambda c=citizen_id: list(service.app.events.get(uuid.UUID(c))))
        assert isinstance(stream[0], Citizen.Registered)
        assert stream[0].sns_number == body["sns_number"]
        emails = [
            e.changed.get("email") for e in stream if isinstance(e, Citizen.PersonalDataUpdated)
        ]
        assert set(load.emails[citizen_id]) <= set(emails), citizen_id
        doctors = [e.practitioner_id for e in stream if isinstance(e, Citizen.FamilyDoctorAssigned)]
        assert citizen_id not in load.doctors or load.doctors[citizen_id] in doctors


async def check_published(platform: Platform, citizens: set[str]) -> None:
    """The relay publishes every stored registration, the backlog of the outage included."""
    bootstrap = platform.services["identity"].settings.kafka_bootstrap

    async def published() -> bool:
        records = documents(await read_topic(bootstrap, platform.topics["identity"], timeout=5))
        return citizens <= {
            d["citizen_id"] for d in records if d["event_type"] == "CitizenRegistered"
        }

    await eventually(published, timeout=40, every=1)


async def check_projected(service: Service, events: list[Any], citizens: set[str]) -> None:
    """The citizen directory catches up: each stored citizen there, at its last event."""
    last_email: dict[str, str] = {}
    for e in events:  # in log order; the citizens of other tests on this platform included
        if isinstance(e, Citizen.Registered):
            last_email[str(e.originator_id)] = e.email
        elif isinstance(e, Citizen.PersonalDataUpdated) and "email" in e.changed:
            last_email[str(e.originator_id)] = e.changed["email"]

    async def projected() -> bool:
        docs = await service.db.citizens.find({"_id": {"$in": list(citizens)}}).to_list()
        return len(docs) == len(citizens) and all(d["email"] == last_email[d["_id"]] for d in docs)

    await eventually(projected, timeout=30, every=0.5)


def test_the_key_database_connection_survives_a_restart(servers: FaultServers) -> None:
    """A keyring whose pooled connection died with the server fetches the next key at the
    first attempt: a registration right after a restart must not fail on a stale socket."""
    keyring = PostgresKeyring(
        servers.settings().postgres_conninfo("rse_keys"),
        new_key(),
        service="test-restart",
        cache_seconds=0,
    )
    try:
        before = uuid.uuid4()
        keyring.data_key(before)
        servers.kill("postgres")
        servers.start("postgres")
        after = uuid.uuid4()
        assert len(keyring.data_key(after)) == 32
        assert keyring.data_key(before) != keyring.data_key(after)
    finally:
        keyring.close()
