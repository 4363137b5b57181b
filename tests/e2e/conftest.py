"""The platform assembled in one process on the real servers, wired through real Kafka.

Every service gets its own fresh database and MongoDB database; the topics are fresh too
(`<run>.<service>.events`), so a run never sees another run's events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from pymongo import AsyncMongoClient

from rse_benefits.bootstrap import bootstrap as benefits_bootstrap
from rse_benefits.config import Settings as BenefitsSettings
from rse_consent.bootstrap import bootstrap as consent_bootstrap
from rse_consent.config import Settings as ConsentSettings
from rse_identity.bootstrap import bootstrap as identity_bootstrap
from rse_identity.config import Settings as IdentitySettings
from rse_records.bootstrap import bootstrap as records_bootstrap
from rse_records.config import Settings as RecordsSettings
from rse_requests.bootstrap import bootstrap as requests_bootstrap
from rse_requests.config import Settings as RequestsSettings
from rse_shared.auth import TokenVerifier, jwks_from_json
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.relay import ensure_topics
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import ServiceTokens, open_counter
from rse_shared.topics import consumed_by, owner_of

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Platform:
    """The running services, an HTTP client per service, and the topic names."""

    services: dict[str, Service]
    topics: dict[str, str]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def __getitem__(self, name: str) -> httpx.AsyncClient:
        return self.clients[name]


def _databases(infra: ServiceSettings, names: list[str]) -> Callable[[], None]:
    admin = infra.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return drop


def servers_of(infra: ServiceSettings) -> dict[str, Any]:
    """The server addresses of `infra`, for settings of another class."""
    return infra.model_dump(
        include={"postgres_host", "postgres_port", "kafka_bootstrap", "mongo_url"}
    )


def e2e_clients(platform: Platform) -> dict[str, httpx.AsyncClient]:
    """One in-process client per service (an unhandled error is raised in the test); each
    sends the session's token for its own service (rse_shared.testing.ServiceTokens)."""
    return {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.api),
            base_url=f"http://{name}",
            auth=ServiceTokens(service.settings.jwt_audience),
        )
        for name, service in platform.services.items()
    }


@asynccontextmanager
async def build_platform(
    infra: ServiceSettings,
    label: str = "e2e",
    clients: Callable[[Platform], dict[str, httpx.AsyncClient]] = e2e_clients,
    **overrides: Any,
) -> AsyncIterator[Platform]:
    """The five services wired through Kafka on databases, topics and consumer groups of
    their own (`<label><run>...`), started; stopped and dropped afterwards."""
    run = f"{label}{uuid.uuid4().hex[:8]}"
    names = ["identity", "consent", "records", "requests", "benefits"]
    topics = {n: f"{run}.{n}.events" for n in names}
    await ensure_topics(infra.kafka_bootstrap, list(topics.values()), options=tool_options(ADMIN))
    drop = _databases(infra, [f"{run}_{n}" for n in names])
    common: dict[str, Any] = {
        "environment": "test",
        "relay_poll_interval": 0.05,
        "checkpoint_interval": 0.5,
        # Every test user logs in from the one in-process client address, and the security
        # tests log the cast's accounts in by the dozen (the limits: identity's own tests).
        "login_rate_per_address": 100_000,
        "login_rate_per_account": 100_000,
        **servers_of(infra),
        **overrides,
    }

    def consumes(name: str) -> list[str]:
        """The run's topics standing for the ones the topology has `name` consume."""
        return [topics[str(owner_of(t))] for t in consumed_by(name)]

    def settings(cls: type[ServiceSettings], name: str, **own: Any) -> Any:
        return cls(
            postgres_db=f"{run}_{name}",
            mongo_db=f"{run}_{name}",
            consumer_group=f"{run}.{name}",
            **common,
            **own,
        )

    identity = identity_bootstrap(
        # The security suite logs its cast in once per run and uses the tokens for the whole
        # run, which outlasts the production lifetime (5 min) on a loaded machine.
        settings(IdentitySettings, "identity", access_token_ttl_seconds=3 * 3600),
        topic=topics["identity"],
        hasher=FAST_HASHER,
    )
    jwks = json.dumps(identity.api.state.token_issuer.jwks())

    def verifier(cls: type[ServiceSettings]) -> TokenVerifier:
        """Each service accepts only tokens for its own audience."""
        return TokenVerifier(
            jwks_from_json(jwks),
            issuer=identity.settings.jwt_issuer,
            audience=cls(**common).jwt_audience,
        )

    services = {
        "identity": identity,
        "consent": consent_bootstrap(
            settings(ConsentSettings, "consent"),
            topic=topics["consent"],
            consumes=consumes("consent"),
            verifier=verifier(ConsentSettings),
        ),
        "records": records_bootstrap(
            settings(RecordsSettings, "records"),
            topic=topics["records"],
            consumes=consumes("records"),
            verifier=verifier(RecordsSettings),
        ),
        "requests": requests_bootstrap(
            settings(RequestsSettings, "requests"),
            topic=topics["requests"],
            consumes=consumes("requests"),
            verifier=verifier(RequestsSettings),
        ),
        "benefits": benefits_bootstrap(
            settings(BenefitsSettings, "benefits"),
            topic=topics["benefits"],
            consumes=consumes("benefits"),
            verifier=verifier(BenefitsSettings),
        ),
    }
    platform = Platform(services, topics)
    try:
        for service in services.values():
            await service.workers.start()
        platform.clients = clients(platform)
        await open_counter(identity, platform["identity"])  # citizens are activated there
        yield platform
    finally:
        for client in platform.clients.values():
            await client.aclose()
        for service in services.values():
            await service.close()
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongo_url)
        for name in names:
            await mongo.drop_database(f"{run}_{name}")
        await mongo.close()
        drop()


@pytest.fixture(scope="session")
async def platform(infra: ServiceSettings) -> AsyncIterator[Platform]:
    """One platform for the whole run: each test works with citizens of its own."""
    async with build_platform(infra) as built:
        yield built
