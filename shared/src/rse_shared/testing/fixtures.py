"""The pytest plugin (`pytest_plugins = ["rse_shared.testing.fixtures"]`): fixtures that
start (or reuse) the real servers and isolate each test.

Servers start once per run (deploy/local/infra.sh up is idempotent); each test gets its
own database, MongoDB database, topics and consumer groups instead of a restart.
Only tests import this module; the helpers it builds on are in the rest of the package.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo import AsyncMongoClient

from rse_shared.idempotent_consumer import IdempotentConsumer
from rse_shared.kafka import ADMIN
from rse_shared.settings import ServiceSettings
from rse_shared.telemetry import setup_tracing
from rse_shared.testing.fhir import FhirValidator
from rse_shared.testing.kafka import create_topic, created_topics, delete_created
from rse_shared.testing.kit import Kit
from rse_shared.testing.names import infra_script, unique
from rse_shared.testing.services import feeding
from rse_shared.testing.tally import RegistrationTally
from rse_shared.testing.tokens import TokenMint

FHIR_WARNINGS = pytest.StashKey[Counter[str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Tests reach Kafka as the admin: their topics and groups are outside the topology's ACLs
    (the broker's refusals are tested with the services' own principals, explicitly)."""
    os.environ.setdefault("RSE_KAFKA_USERNAME", ADMIN)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Delete the topics the session created (a broken broker is no test failure)."""
    if not created_topics:
        return
    bootstrap = ServiceSettings(service_name="test", environment="test").kafka_bootstrap
    try:
        asyncio.run(asyncio.wait_for(delete_created(bootstrap), 30))
    except Exception as failure:  # noqa: BLE001 - cleanup only; the results stand
        print(f"\ntopics of this session left on the broker: {failure!r}", file=sys.stderr)


@pytest.fixture(scope="session")
def infra() -> ServiceSettings:
    """The real PostgreSQL, Kafka and FerretDB, started if they are not running.

    The instance is deploy/local's as the RSE_LOCAL_* variables choose it (another
    instance: RSE_LOCAL_DIR and its ports); its addresses and secrets, from `infra.sh env`,
    become the defaults of every settings object the tests build.
    """
    if os.environ.get("RSE_TEST_INFRA", "local") == "local":
        subprocess.run(["bash", str(infra_script()), "up"], check=True, stdout=subprocess.DEVNULL)
        _adopt_infra_env()
    return ServiceSettings(service_name="test", environment="test")


def _adopt_infra_env() -> None:
    printed = subprocess.run(
        ["bash", str(infra_script()), "env"], check=True, capture_output=True, text=True
    ).stdout
    for line in printed.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if line.startswith("export ") and name.startswith(("RSE_", "PG")):
            os.environ.setdefault(name, value)


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


@pytest.fixture
async def fresh_topic(infra: ServiceSettings) -> str:
    """A new Kafka topic (3 partitions) for the test alone."""
    return await create_topic(infra.kafka_bootstrap)


@pytest.fixture
def new_topic(infra: ServiceSettings) -> Callable[[str], Awaitable[str]]:
    """Makes further fresh topics: `await new_topic("identity")`."""
    return lambda label: create_topic(infra.kafka_bootstrap, label)


@pytest.fixture
def tally(settings: ServiceSettings) -> Iterator[RegistrationTally]:
    app = RegistrationTally(env=settings.eventstore_env())
    yield app
    app.close()


@pytest.fixture
async def consuming(
    infra: ServiceSettings, tally: RegistrationTally, fresh_topic: str
) -> AsyncIterator[IdempotentConsumer]:
    """The tally fed from `fresh_topic` (identity's, as it counts registrations) by an
    idempotent consumer in its own group."""
    async with feeding(
        infra.kafka_bootstrap, tally, [fresh_topic], owners={fresh_topic: "identity"}
    ) as consumer:
        yield consumer


@pytest.fixture
def mint(infra: ServiceSettings) -> TokenMint:
    """Issues test tokens; pass `mint.verifier()` to a service's bootstrap."""
    return TokenMint(infra)


@pytest.fixture
def kit(
    infra: ServiceSettings,
    fresh_database: str,
    fresh_mongo: str,
    new_topic: Callable[[str], Awaitable[str]],
    mint: TokenMint,
) -> Kit:
    """A service's test settings, fresh topics and running service (rse_shared.testing.kit)."""
    return Kit(infra, fresh_database, fresh_mongo, new_topic, mint)


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span finished in this test run, kept in memory (spans are exported at once)."""
    exporter = InMemorySpanExporter()
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        pytest.fail("a tracer provider was installed before this fixture")
    provider = setup_tracing("test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="session")
def fhir_validator(request: pytest.FixtureRequest) -> Iterator[FhirValidator]:
    """HAPI FHIR's instance validator (one JVM for the session); its warnings end the report."""
    validator = FhirValidator()
    yield validator
    validator.close()
    request.config.stash[FHIR_WARNINGS] = validator.warnings


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The FHIR validator's warnings of this run (errors fail the tests themselves)."""
    warnings = config.stash.get(FHIR_WARNINGS, None)
    if warnings:
        terminalreporter.section("FHIR validator warnings")
        for text, count in sorted(warnings.items()):
            terminalreporter.line(f"{count:4d} x {text}")
