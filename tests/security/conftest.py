"""The security tests run on the end-to-end platform: all five services on the real servers.

`platform` is the end-to-end fixture itself, re-exported: pytest gives this directory its own
instance of it (one per run), apart from the one tests/e2e uses. `api` talks to the same
services through clients that turn an unhandled error into the 500 a real server would send
(the end-to-end clients raise it instead), so a test can assert "never 500".

Inputs that may leave a service unable to go on (a poison event stalls a projection for
everyone) are sent to a `quarantine` platform of their own, built and dropped per module.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
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
from rse_shared.relay import ensure_topics
from rse_shared.settings import ServiceSettings
from tests.e2e.conftest import FAST_HASHER, Platform, _databases
from tests.e2e.conftest import platform as platform  # the fixture, re-exported

from .cast import Cast, build_cast

SERVICES = ("identity", "consent", "records", "requests", "benefits")


def clients_for(platform: Platform) -> dict[str, httpx.AsyncClient]:
    """One client per service that answers 500 for an unhandled error, as uvicorn would."""
    return {name: httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.api, raise_app_exceptions=False),
        base_url=f"http://{name}", timeout=30) for name, service in platform.services.items()}


@pytest.fixture(scope="session")
async def api(platform: Platform) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients = clients_for(platform)
    yield clients
    for client in clients.values():
        await client.aclose()


@pytest.fixture(scope="session")
async def cast(platform: Platform, api: dict[str, httpx.AsyncClient]) -> Cast:
    """A citizen with their family doctor, and one account of every staff role."""
    return await build_cast(platform, api)


@asynccontextmanager
async def disposable_platform(infra: ServiceSettings) -> AsyncIterator[Platform]:
    """The five services wired as tests/e2e wires them, on databases and topics of their own."""
    run = f"sec{uuid.uuid4().hex[:8]}"
    topics = {n: f"{run}.{n}.events" for n in SERVICES}
    await ensure_topics(infra.kafka_bootstrap, list(topics.values()))
    drop = _databases(infra, [f"{run}_{n}" for n in SERVICES])
    # A small pool: this platform runs beside the session's (and, in a full run, e2e's).
    common: dict[str, Any] = {"environment": "test", "relay_poll_interval": 0.05,
                              "checkpoint_interval": 0.5, "postgres_pool_size": 2}

    def settings(cls: type[ServiceSettings], name: str) -> Any:
        return cls(postgres_db=f"{run}_{name}", mongo_db=f"{run}_{name}", **common)

    identity = identity_bootstrap(settings(IdentitySettings, "identity"),
                                  topic=topics["identity"], hasher=FAST_HASHER)
    jwks = json.dumps(identity.api.state.token_issuer.jwks())

    def verifier() -> TokenVerifier:
        return TokenVerifier(jwks_from_json(jwks), issuer=identity.settings.jwt_issuer,
                             audience=identity.settings.jwt_audience)

    services = {
        "identity": identity,
        "consent": consent_bootstrap(settings(ConsentSettings, "consent"), topic=topics["consent"],
                                     consumes=[topics["records"]], verifier=verifier()),
        "records": records_bootstrap(settings(RecordsSettings, "records"), topic=topics["records"],
                                     consumes=[topics["identity"], topics["consent"],
                                               topics["requests"]], verifier=verifier()),
        "requests": requests_bootstrap(settings(RequestsSettings, "requests"),
                                       topic=topics["requests"],
                                       consumes=[topics["identity"], topics["records"],
                                                 topics["benefits"]], verifier=verifier()),
        "benefits": benefits_bootstrap(settings(BenefitsSettings, "benefits"),
                                       topic=topics["benefits"], consumes=[topics["identity"]],
                                       verifier=verifier()),
    }
    quarantined = Platform(services, topics)
    try:
        for service in services.values():
            await service.workers.start()
        quarantined.clients = clients_for(quarantined)
        yield quarantined
    finally:
        for name, service in services.items():
            if name in quarantined.clients:
                await quarantined.clients[name].aclose()
            await service.close()
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongo_url)
        for name in SERVICES:
            await mongo.drop_database(f"{run}_{name}")
        await mongo.close()
        drop()


@pytest.fixture(scope="module")
async def quarantine(infra: ServiceSettings) -> AsyncIterator[Platform]:
    """A platform of the module's own, for inputs that may break it for everyone after."""
    async with disposable_platform(infra) as quarantined:
        yield quarantined
