"""Single active instance through a PostgreSQL session-level advisory lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import psycopg

log = logging.getLogger(__name__)

T = TypeVar("T")


class LockLost(Exception):
    """The connection holding the lock broke (e.g. PostgreSQL restarted): another
    instance may hold the lock now."""


class Lease:
    """A held advisory lock: `guard` runs work only while the lock is still ours."""

    def __init__(
        self, conn: psycopg.AsyncConnection[object], name: str, check_every: float
    ) -> None:
        self.conn = conn
        self.name = name
        self.check_every = check_every

    async def confirm(self) -> None:
        """Raise LockLost unless the lock's connection still answers."""
        try:
            await self.conn.execute("SELECT 1")
        except psycopg.Error as broken:
            raise LockLost(self.name) from broken

    async def guard(self, work: Awaitable[T]) -> T:
        """Run `work`, cancelling it with LockLost as soon as the lock is found lost."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.check_every)
                if done:
                    return task.result()
                await self.confirm()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


@contextlib.asynccontextmanager
async def advisory_lock(
    conninfo: str, name: str, retry_every: float = 1.0, check_every: float = 2.0
) -> AsyncIterator[Lease]:
    """Hold the advisory lock `name` for the block; wait as a standby until it is free.

    The lock lives as long as the connection, so a crashed holder releases it at once;
    and if the connection breaks, the lock is gone: run the block's work through
    `Lease.guard` so that it stops then.
    """
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    try:
        while True:
            cur = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,))
            row = await cur.fetchone()
            if row and row[0]:
                break
            log.debug("standby: lock held elsewhere", extra={"lock": name})
            await asyncio.sleep(retry_every)
        yield Lease(conn, name, check_every)
    finally:
        with contextlib.suppress(psycopg.Error):
            await conn.close()
