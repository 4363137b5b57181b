"""The security tests run on the end-to-end platform: all five services on the real servers.

`platform` is the end-to-end fixture itself, re-exported: pytest gives this directory its own
instance of it (one per run), apart from the one tests/e2e uses. `api` talks to the same
services through clients that turn an unhandled error into the 500 a real server would send
(the end-to-end clients raise it instead), so a test can assert "never 500".

Inputs that may leave a service unable to go on (a poison event stalls a projection for
everyone) are sent to a `quarantine` platform of their own, built and dropped per module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from rse_shared.settings import ServiceSettings
from rse_shared.testing import ServiceTokens, open_counter
from tests.e2e.conftest import Platform, build_platform
from tests.e2e.conftest import platform as platform  # the fixture, re-exported

from .cast import Cast, build_cast

SERVICES = ("identity", "consent", "records", "requests", "benefits")


def clients_for(platform: Platform) -> dict[str, httpx.AsyncClient]:
    """One client per service that answers 500 for an unhandled error, as uvicorn would;
    each sends the session's token for its own service (ServiceTokens)."""
    return {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.api, raise_app_exceptions=False),
            base_url=f"http://{name}",
            timeout=30,
            auth=ServiceTokens(service.settings.jwt_audience),
        )
        for name, service in platform.services.items()
    }


@pytest.fixture(scope="session")
async def api(platform: Platform) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients = clients_for(platform)
    await open_counter(platform.services["identity"], clients["identity"])
    yield clients
    for client in clients.values():
        await client.aclose()


@pytest.fixture(scope="session")
async def cast(platform: Platform, api: dict[str, httpx.AsyncClient]) -> Cast:
    """A citizen with their family doctor, and one account of every staff role."""
    return await build_cast(platform, api)


@pytest.fixture(scope="module")
async def quarantine(infra: ServiceSettings) -> AsyncIterator[Platform]:
    """A platform of the module's own, for inputs that may break it for everyone after."""
    # A small pool: this platform runs beside the session's (and, in a full run, e2e's).
    async with build_platform(infra, "sec", clients_for, postgres_pool_size=2) as quarantined:
        yield quarantined
