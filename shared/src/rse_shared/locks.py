"""Single active instance through a PostgreSQL session-level advisory lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import psycopg

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def advisory_lock(conninfo: str, name: str, retry_every: float = 1.0) -> AsyncIterator[None]:
    """Hold the advisory lock `name` for the block; wait as a standby until it is free.

    The lock lives as long as the connection, so a crashed holder releases it at once.
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
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            await conn.close()
