"""Pytest fixtures that start (or reuse) the real servers and isolate each test.

Servers start once per run (deploy/local/infra.sh up is idempotent); each test gets its
own database, MongoDB database, topics and consumer groups instead of a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import singledispatchmethod
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import jwt
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from faststream.kafka import KafkaBroker
from jwt.algorithms import OKPAlgorithm
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo import AsyncMongoClient

from rse_shared.auth import Role, TokenVerifier, jwks_from_json
from rse_shared.consumer import IdempotentConsumer
from rse_shared.contracts import CitizenRegistered, IntegrationEvent
from rse_shared.eventstore import natural_id
from rse_shared.inbox import ConsumerApplication
from rse_shared.kafka import ADMIN, broker_security, tool_options, tool_settings
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.telemetry import setup_tracing

T = TypeVar("T")
D = TypeVar("D", date, datetime)
REPO = Path(__file__).resolve().parents[3]


def pytest_configure(config: pytest.Config) -> None:
    """Tests reach Kafka as the admin: their topics and groups are outside the topology's ACLs
    (the broker's refusals are tested with the services' own principals, explicitly)."""
    os.environ.setdefault("RSE_KAFKA_USERNAME", ADMIN)


def _infra_script() -> Path:
    return REPO / "deploy" / "local" / "infra.sh"


@pytest.fixture(scope="session")
def infra() -> ServiceSettings:
    """The real PostgreSQL, Kafka and FerretDB, started if they are not running.

    The instance is deploy/local's as the RSE_LOCAL_* variables choose it (another
    instance: RSE_LOCAL_DIR and its ports); its addresses and secrets, from `infra.sh env`,
    become the defaults of every settings object the tests build.
    """
    if os.environ.get("RSE_TEST_INFRA", "local") == "local":
        subprocess.run(["bash", str(_infra_script()), "up"], check=True,
                       stdout=subprocess.DEVNULL)
        _adopt_infra_env()
    return ServiceSettings(service_name="test", environment="test")


def _adopt_infra_env() -> None:
    printed = subprocess.run(["bash", str(_infra_script()), "env"], check=True,
                             capture_output=True, text=True).stdout
    for line in printed.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if line.startswith("export ") and name.startswith(("RSE_", "PG")):
            os.environ.setdefault(name, value)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fresh_database(infra: ServiceSettings) -> Iterator[str]:
    """A PostgreSQL database of the test's own, dropped afterwards."""
    name = unique("rse_t")
    admin = infra.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_mongo(infra: ServiceSettings) -> AsyncIterator[str]:
    """A MongoDB database name of the test's own, dropped afterwards."""
    name = unique("rse_t")
    yield name
    client: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongo_url)
    await client.drop_database(name)
    await client.close()


async def create_topic(bootstrap: str, label: str = "t") -> str:
    """Create a new, uniquely named topic (3 partitions)."""
    name = unique(label).replace("_", ".")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def fresh_topic(infra: ServiceSettings) -> str:
    """A new Kafka topic (3 partitions) for the test alone."""
    return await create_topic(infra.kafka_bootstrap)


@pytest.fixture
def new_topic(infra: ServiceSettings) -> Callable[[str], Awaitable[str]]:
    """Makes further fresh topics: `await new_topic("identity")`."""
    return lambda label: create_topic(infra.kafka_bootstrap, label)


async def publish(bootstrap: str, topic: str, *events: IntegrationEvent,
                  partition: int | None = None) -> None:
    """Produce integration events as a producer's relay would (acks=all, keyed by citizen),
    onto `partition` if given, whatever the key would pick."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, json.dumps(event.to_wire()).encode(),
                                         key=str(event.citizen_id).encode(),
                                         partition=partition)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, *, timeout: float = 10.0,
                     expect: int | None = None) -> list[Any]:
    """Every record on `topic` from offset 0 (stops once `expect` are read, or at timeout)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", **tool_options(ADMIN))
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout
        while not partitions and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for items in batch.values():
                records.extend(items)
            if expect is not None and len(records) >= expect:
                break
            if expect is None and not batch and records:
                break
        return records
    finally:
        await consumer.stop()


def documents(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0,
                     every: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy; fail the test at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


class ManualClock(Generic[D]):
    """A service's clock the test sets by hand (`clock.now = ...`, `clock.advance(...)`)."""

    def __init__(self, now: D) -> None:
        self.now: D = now

    def __call__(self) -> D:
        return self.now

    def advance(self, by: timedelta) -> D:
        self.now = self.now + by
        return self.now


class Tally(Aggregate):
    """How many times a citizen's registration was applied."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("tally", str(citizen_id))

    @event("Started")
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class RegistrationTally(ConsumerApplication):
    """Counts CitizenRegistered per citizen; a full name of 'Poison' always fails."""

    name = "tally"

    @singledispatchmethod
    def handle(self, domain_event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events change nothing."""

    @handle.register(CitizenRegistered)
    def _(self, domain_event: CitizenRegistered,
          processing_event: ProcessingEvent[uuid.UUID]) -> None:
        if domain_event.full_name == "Poison":
            raise RuntimeError("cannot count poison")
        try:
            tally: Tally = self.repository.get(Tally.create_id(domain_event.citizen_id))
        except AggregateNotFoundError:
            tally = Tally(domain_event.citizen_id)
        tally.count_one()
        processing_event.collect_events(tally)

    def count(self, citizen_id: uuid.UUID) -> int:
        try:
            tally: Tally = self.repository.get(Tally.create_id(citizen_id))
        except AggregateNotFoundError:
            return 0
        return tally.count


def a_registration(citizen_id: uuid.UUID | None = None, position: int = 1,
                   full_name: str = "Ana Silva") -> CitizenRegistered:
    citizen_id = citizen_id or uuid.uuid4()
    return CitizenRegistered(
        event_id=uuid.uuid5(citizen_id, str(position)), occurred_at=datetime.now(UTC),
        producer="identity", citizen_id=citizen_id, source_position=position,
        sns_number="123456789", full_name=full_name, date_of_birth=date(1980, 1, 1))


@pytest.fixture
def tally(settings: ServiceSettings) -> Iterator[RegistrationTally]:
    app = RegistrationTally(env=settings.eventstore_env())
    yield app
    app.close()


@contextlib.asynccontextmanager
async def feeding(bootstrap: str, app: ConsumerApplication, topics: list[str], *,
                  group_id: str | None = None) -> AsyncIterator[IdempotentConsumer]:
    """`app` fed from `topics` by an idempotent consumer (in a group of its own by default)."""
    broker = KafkaBroker(bootstrap, logger=logging.getLogger("faststream"),
                         security=broker_security(tool_settings(ADMIN)))
    consumer = IdempotentConsumer(broker, app, topics=topics, max_attempts=3,
                                  retry_backoff=0.05,
                                  group_id=group_id or f"g-{uuid.uuid4().hex[:8]}")
    await broker.start()
    try:
        yield consumer
    finally:
        await broker.stop()


@pytest.fixture
async def consuming(infra: ServiceSettings, tally: RegistrationTally,
                    fresh_topic: str) -> AsyncIterator[IdempotentConsumer]:
    """The tally fed from `fresh_topic` by an idempotent consumer in its own group."""
    async with feeding(infra.kafka_bootstrap, tally, [fresh_topic]) as consumer:
        yield consumer


class TokenMint:
    """Signs access tokens the way identity does, for services tested without identity."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = uuid.uuid4().hex
        self.settings = settings
        public = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(jwks_from_json(json.dumps(self.jwks)),
                             issuer=self.settings.jwt_issuer,
                             audience=self.settings.jwt_audience)

    def token(self, role: Role, **claims: Any) -> str:
        now = int(time.time())
        payload = {"sub": str(uuid.uuid4()), "role": role, "iss": self.settings.jwt_issuer,
                   "aud": self.settings.jwt_audience, "iat": now, "nbf": now,
                   "exp": now + 600, **claims}
        return jwt.encode(payload, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def citizen(self, citizen_id: uuid.UUID | str) -> dict[str, str]:
        """Authorization header of the citizen `citizen_id`."""
        return bearer(self.token("citizen", citizen_id=str(citizen_id)))

    def professional(self, practitioner_id: str, health_unit: str) -> dict[str, str]:
        return bearer(self.token("professional", practitioner_id=practitioner_id,
                                 health_unit=health_unit))

    def staff(self, role: Role) -> dict[str, str]:
        return bearer(self.token(role))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def mint(infra: ServiceSettings) -> TokenMint:
    """Issues test tokens; pass `mint.verifier()` to a service's bootstrap."""
    return TokenMint(infra)


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span finished in this test run, kept in memory (spans are exported at once)."""
    exporter = InMemorySpanExporter()
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        pytest.fail("a tracer provider was installed before this fixture")
    provider = setup_tracing("test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@contextlib.asynccontextmanager
async def running(service: Service) -> AsyncIterator[Service]:
    """The service with its relay, projectors, consumer and jobs running; closed after."""
    await service.workers.start()
    try:
        yield service
    finally:
        await service.close()


@contextlib.asynccontextmanager
async def asgi_client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the service's API in process."""
    transport = httpx.ASGITransport(app=service.api)
    name = service.settings.service_name
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as http:
        yield http
