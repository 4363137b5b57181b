"""The five services as processes for bench/mixed_load.py, their clients, and a population.

Tokens: identity issues its own (only its operator's is used here); the other four verify
tokens signed by a TokenMint, as a citizen's or professional's identity-issued token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from argon2 import PasswordHasher
from common import ServiceSpec, free_port, registration, scratch, service_process
from load import BackingTable, say
from pymongo import AsyncMongoClient

from rse_identity.application import IdentityApplication
from rse_shared.testing import TokenMint, eventually, staff_login
from rse_shared.topics import CONSUMES, SERVICES, events_topic

UNIT, DOCTOR = "USF Bench", "P-DOC"
OPERATOR, OPERATOR_PASSWORD = "bench-operator", "a long enough operator secret"


@dataclass
class Platform:
    """The running services, a client for each, and the prepared population."""

    specs: dict[str, ServiceSpec]
    pids: dict[str, int]
    mint: TokenMint
    raw_topic: str
    records_conninfo: str
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    mongo: Any = None
    citizens: list[str] = field(default_factory=list)  # consents and reads aim at these
    consents: dict[str, str] = field(default_factory=dict)  # citizen -> consent in force
    patients: list[tuple[str, str]] = field(default_factory=list)  # (citizen, medication)
    slots: list[str] = field(default_factory=list)
    doctor: dict[str, str] = field(default_factory=dict)

    def groups(self) -> dict[str, tuple[str, list[str]]]:
        """Each consuming service's consumer group and topics (bench/common.py's wiring)."""
        return {
            name: (spec.database, spec.consumes)
            for name, spec in self.specs.items()
            if spec.consumes
        }

    async def register(self, i: int, run: int) -> str | None:
        answer = await self.clients["identity"].post("/citizens", json=registration(i, run))
        return str(answer.json()["citizen_id"]) if answer.status_code == 201 else None

    async def professional_read(self, citizen: str, practitioner: str) -> int:
        answer = await self.clients["records"].get(
            f"/records/{citizen}/vaccinations", headers=self.mint.professional(practitioner, UNIT)
        )
        return answer.status_code

    async def grant(self, citizen: str) -> bool:
        answer = await self.clients["consent"].post(
            f"/citizens/{citizen}/consents",
            headers=self.mint.citizen(citizen),
            json={"grantee": {"kind": "health_unit", "id": UNIT}, "categories": ["vaccinations"]},
        )
        if answer.status_code != 201:
            return False
        self.consents[citizen] = answer.json()["consent_id"]
        return True

    async def revoke(self, citizen: str) -> bool:
        consent = self.consents.pop(citizen)
        answer = await self.clients["consent"].post(
            f"/citizens/{citizen}/consents/{consent}/revocation", headers=self.mint.citizen(citizen)
        )
        return answer.status_code == 200

    def take_patient(self) -> tuple[str, str] | None:
        """A patient with nothing in flight at requests (two saves of one patient conflict)."""
        return self.patients.pop() if self.patients else None

    def give_back(self, patient: tuple[str, str]) -> None:
        self.patients.insert(0, patient)

    async def ask_renewal(self, patient: tuple[str, str]) -> str | None:
        citizen, medication = patient
        answer = await self.clients["requests"].post(
            f"/citizens/{citizen}/renewals",
            headers=self.mint.citizen(citizen),
            json={"medication_ids": [medication]},
        )
        return str(answer.json()["request_id"]) if answer.status_code == 201 else None

    async def approve(self, request_id: str, patient: tuple[str, str]) -> bool:
        valid_until = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
        answer = await self.clients["requests"].post(
            f"/practitioners/{DOCTOR}/renewals/{request_id}/decision",
            headers=self.doctor,
            json={
                "decision": "approved",
                "valid_until": valid_until,
                "items": [{"medication_id": patient[1], "packs": 1}],
            },
        )
        return answer.status_code == 200

    async def book(self, patient: tuple[str, str], slot: str) -> str | None:
        citizen = patient[0]
        answer = await self.clients["requests"].post(
            f"/citizens/{citizen}/appointments",
            headers=self.mint.citizen(citizen),
            json={"slot_id": slot},
        )
        return str(answer.json()["appointment_id"]) if answer.status_code == 201 else None


def specs_for(fresh: Any, topics: dict[str, str], mint: TokenMint) -> dict[str, ServiceSpec]:
    """The five services wired as the platform wires them, on fresh databases and topics."""
    consumed = {name: [topics[t.split(".")[0]] for t in CONSUMES[name]] for name in SERVICES}
    return {
        name: ServiceSpec(
            name,
            fresh.database(),
            free_port(),
            topics[name],
            consumes=consumed[name],
            fast_hash=name == "identity",
            jwks=None if name == "identity" else mint.jwks,
        )
        for name in SERVICES
    }


@contextlib.asynccontextmanager
async def platform() -> AsyncIterator[Platform]:
    """The five services running; everything dropped after."""
    async with scratch() as fresh, contextlib.AsyncExitStack() as stack:
        topics = {name: await fresh.topic(name) for name in (*SERVICES, "raw")}
        assert all(events_topic(s).split(".")[0] == s for s in SERVICES)
        mint = TokenMint(fresh.infra)
        specs = specs_for(fresh, topics, mint)
        say("starting the five services")
        children = await asyncio.gather(
            *(stack.enter_async_context(service_process(spec)) for spec in specs.values())
        )
        plat = Platform(
            specs,
            {n: c.pid for n, c in zip(specs, children, strict=True)},
            mint,
            topics["raw"],
            fresh.settings(specs["records"].database).postgres_conninfo(),
        )
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that a request
        # is never sent on a connection the server is closing at that moment (a ReadError).
        limits = httpx.Limits(
            max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0
        )
        for name, spec in specs.items():
            plat.clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(base_url=spec.url, limits=limits, timeout=10)
            )
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(fresh.infra.mongo_url)
        stack.push_async_callback(mongo.close)
        plat.mongo = {name: mongo[spec.database] for name, spec in specs.items()}
        plat.doctor = mint.professional(DOCTOR, UNIT)
        yield plat


async def prepare(plat: Platform, citizens: int, patients: int, slots: int) -> None:
    """Registered citizens; patients with a family doctor and a chronic medication; slots."""
    say(f"preparing {citizens} citizens, {patients} patients, {slots} slots")
    ids = await register_population(plat, citizens + patients)
    await arrived(plat.mongo["records"].records, ids, "records")
    await arrived(plat.mongo["requests"].patients, ids, "requests")
    plat.citizens, chosen = ids[:citizens], ids[citizens:]
    operator = await operator_headers(plat)
    for citizen in chosen:
        await plat.clients["identity"].put(
            f"/citizens/{citizen}/family-doctor",
            headers=operator,
            json={"practitioner_id": DOCTOR, "health_unit": UNIT},
        )
        plat.patients.append((citizen, await medication_added(plat, citizen)))
    await patients_ready(plat, chosen)
    await open_slots(plat, slots)


async def register_population(plat: Platform, count: int, at_once: int = 4) -> list[str]:
    """`count` citizens registered, `at_once` at a time: identity hashes a few passwords at
    once and answers 503 beyond (its flood bound), so a refused one is sent again."""
    gate = asyncio.Semaphore(at_once)

    async def one(i: int) -> str:
        async with gate:
            for _ in range(20):
                answer = await plat.clients["identity"].post("/citizens", json=registration(i, 0))
                if answer.status_code == 201:
                    return str(answer.json()["citizen_id"])
                if answer.status_code != 503:
                    answer.raise_for_status()
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            raise RuntimeError(f"registration {i} refused 20 times")

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def medication_added(plat: Platform, citizen: str) -> str:
    """The family doctor's chronic medication, once records knows them as the family doctor."""

    async def added() -> str | None:
        response = await plat.clients["records"].post(
            f"/records/{citizen}/health-summary/medications",
            headers=plat.doctor,
            json={"name": "Metformina 850 mg", "dosage": "1 comprimido 2x/dia"},
        )
        return str(response.json()["medication_id"]) if response.status_code == 201 else None

    found: str = await eventually(added, timeout=60, every=0.2)
    return found


async def open_slots(plat: Platform, count: int, at_once: int = 16) -> None:
    """`count` free 20-minute slots in the doctor's agenda, from tomorrow on."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)

    async def one(n: int) -> str:
        opened = await plat.clients["requests"].post(
            f"/practitioners/{DOCTOR}/slots",
            headers=plat.doctor,
            json={"starts_at": (start + timedelta(minutes=20 * n)).isoformat()},
        )
        opened.raise_for_status()
        return str(opened.json()["slot_id"])

    for first in range(0, count, at_once):
        last = min(first + at_once, count)
        plat.slots += await asyncio.gather(*(one(n) for n in range(first, last)))


async def arrived(collection: Any, ids: list[str], where: str) -> None:
    table = BackingTable(collection)

    async def all_there() -> bool:
        return len(await table.find("_id", "_id", ids)) == len(ids)

    await eventually(all_there, timeout=120, every=0.5)
    await table.close()
    say(f"  {len(ids)} citizens in {where}")


async def patients_ready(plat: Platform, chosen: list[str]) -> None:
    """Requests knows each patient's family doctor and chronic medication."""

    async def ready() -> bool:
        docs = await plat.mongo["requests"].patients.find({"_id": {"$in": chosen}}).to_list()
        return len(
            [d for d in docs if d.get("family_doctor") and d.get("chronic_medications")]
        ) == len(chosen)

    await eventually(ready, timeout=120, every=0.5)
    say(f"  {len(chosen)} patients with a family doctor and a medication in requests")


async def operator_headers(plat: Platform) -> dict[str, str]:
    """An operator account made in identity's event store (as `rse-identity create-operator`
    does), logged in through identity's API."""
    settings = plat.specs["identity"].database
    from rse_identity.config import Settings

    env = Settings(environment="test", postgres_db=settings).eventstore_env()
    app = IdentityApplication(
        env=env, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    app.provision_staff(username=OPERATOR, password=OPERATOR_PASSWORD, role="operator")
    app.close()
    # Staff log in with a second factor (enrolled the first time by the shared helper).
    token = await staff_login(plat.clients["identity"], OPERATOR, OPERATOR_PASSWORD)
    return {"Authorization": f"Bearer {token}"}
