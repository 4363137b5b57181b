"""Where a relay is: its last acknowledged notification id and chain heads, saved together.

The store keeps one connection for the relay's lifetime (a save per acknowledged batch
would otherwise pay a connection set-up each time) and reconnects once when it broke.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from rse_shared.chain import Head, heads_from_json, heads_to_json

# The relays of one database (events and channels) may start together: the lock (held to
# the end of this implicit transaction) keeps two CREATE TABLEs from racing on pg_type.
POSITION_DDL = """
SELECT pg_advisory_xact_lock(hashtext('outbox_relay_position'));
CREATE TABLE IF NOT EXISTS outbox_relay_position (
    relay_name text PRIMARY KEY,
    position bigint NOT NULL,
    chain jsonb NOT NULL DEFAULT '{}'
);
ALTER TABLE outbox_relay_position ADD COLUMN IF NOT EXISTS chain jsonb NOT NULL DEFAULT '{}'
"""

SAVE = (
    "INSERT INTO outbox_relay_position (relay_name, position, chain) "
    "VALUES (%s, %s, %s) ON CONFLICT (relay_name) DO UPDATE "
    "SET position = EXCLUDED.position, chain = EXCLUDED.chain"
)

LOAD = "SELECT position, chain FROM outbox_relay_position WHERE relay_name = %s"


class PositionStore:
    """The relay's last acknowledged notification id and chain heads, saved together."""

    def __init__(self, conninfo: str, relay_name: str) -> None:
        self.conninfo = conninfo
        self.relay_name = relay_name
        self.conn: psycopg.AsyncConnection[Any] | None = None

    async def load(self) -> tuple[int, dict[int, Head]]:
        await self._run(POSITION_DDL)
        row = await self._run(LOAD, (self.relay_name,))
        return (int(row[0]), heads_from_json(row[1])) if row else (0, {})

    async def save(self, position: int, heads: dict[int, Head]) -> None:
        await self._run(SAVE, (self.relay_name, position, Jsonb(heads_to_json(heads))))

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self.conn.close()
            self.conn = None

    async def _run(self, query: str, params: tuple[Any, ...] | None = None) -> Any:
        """Execute on the lasting connection, reconnecting once if it broke meanwhile.

        Both statements are idempotent, so running one again after a broken connection
        is safe whether or not the first attempt reached the database.
        """
        for attempt in (1, 2):
            try:
                conn = await self._connection()
                cur = await conn.execute(query, params)
                return await cur.fetchone() if cur.description else None
            except psycopg.OperationalError:
                await self.close()
                if attempt == 2:
                    raise
        return None  # pragma: no cover - the loop returns or raises

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self.conn is None or self.conn.closed:
            self.conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        return self.conn
