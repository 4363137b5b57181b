"""The identity service, assembled on the real servers with a database and topic of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher

from rse_identity.bootstrap import bootstrap
from rse_identity.config import Settings
from rse_shared.service import Service
from rse_shared.testing import Counter, Kit, asgi_client, open_counter

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def settings(kit: Kit) -> Settings:
    return kit.settings(Settings)


@pytest.fixture
async def identity(kit: Kit, settings: Settings, fresh_topic: str) -> AsyncIterator[Service]:
    """Identity with its relay and projector running."""
    async with kit.serve(
        bootstrap, settings, {"identity": fresh_topic}, hasher=FAST_HASHER
    ) as service:
        yield service


@pytest.fixture
async def client(identity: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(identity) as http:
        yield http


@pytest.fixture
async def counter(identity: Service, client: httpx.AsyncClient) -> Counter:
    """A health-unit counter on this identity: activates citizens registered by the form."""
    return await open_counter(identity, client)
