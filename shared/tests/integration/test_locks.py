"""One active instance: the advisory lock is held by one contender, and losing it is noticed."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from rse_shared.locks import LockLost, advisory_lock
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def test_a_second_contender_waits_until_the_first_lets_go(settings: ServiceSettings) -> None:
    conninfo = settings.postgres_conninfo()
    second_has_it = asyncio.Event()

    async def second() -> None:
        async with advisory_lock(conninfo, "relay:x", retry_every=0.05):
            second_has_it.set()

    async with advisory_lock(conninfo, "relay:x"):
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.5)
        assert not second_has_it.is_set()
    await asyncio.wait_for(waiting, timeout=5)
    assert second_has_it.is_set()


async def test_work_stops_when_the_lock_connection_breaks(settings: ServiceSettings) -> None:
    """As after a PostgreSQL restart: the lock is gone, so the guarded work must stop."""
    conninfo = settings.postgres_conninfo()
    async with advisory_lock(conninfo, "relay:y", check_every=0.1) as lease:
        work = asyncio.create_task(lease.guard(asyncio.sleep(60)))
        await asyncio.sleep(0.3)
        assert not work.done()
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (lease.conn.info.backend_pid,))
        with pytest.raises(LockLost):
            await asyncio.wait_for(work, timeout=5)
    # Someone else can take it now.
    async with advisory_lock(conninfo, "relay:y", retry_every=0.05):
        pass
