"""The delivery queue: one row per (notification, channel), claimed before it is sent.

The row is the guarantee of at most once. A dispatcher claims due rows in one UPDATE
(`FOR UPDATE SKIP LOCKED`: two replicas never claim the same row), sends, then marks the
row sent, due again later (a failure worth retrying) or failed. A row still `sending`
after its lease is one whose dispatcher died mid-send: whether the message left is not
known, so it is failed with that reason, never sent again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from rse_shared.status import QUEUE_VIEW, QueueFigures

SCHEMA = """
CREATE TABLE IF NOT EXISTS notification_deliveries (
    notification_id uuid NOT NULL,
    channel text NOT NULL,
    citizen_id uuid NOT NULL,
    address text,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    due_at timestamptz NOT NULL,
    claimed_until timestamptz,
    reason text,
    finished_at timestamptz,
    recorded boolean NOT NULL DEFAULT false,
    PRIMARY KEY (notification_id, channel)
);
CREATE INDEX IF NOT EXISTS notification_deliveries_due
    ON notification_deliveries (status, due_at)
"""

QUEUE_FIGURES = sql.SQL("""
CREATE OR REPLACE VIEW {} AS SELECT
    count(*) FILTER (WHERE status = 'pending' AND attempts = 0) AS pending,
    count(*) FILTER (WHERE status = 'pending' AND attempts > 0) AS retrying,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    extract(epoch FROM now() - min(due_at) FILTER (WHERE status = 'pending' AND due_at <= now()))
        AS oldest_pending_seconds
FROM notification_deliveries
""").format(sql.Identifier(QUEUE_VIEW))
"""The view rse-status reads: what is waiting, what is tried again, what failed, how late."""

SCHEMA_LOCK = "notification_deliveries schema"

CLAIM = """
UPDATE notification_deliveries SET status = 'sending', attempts = attempts + 1,
    claimed_until = %(now)s + %(lease)s
WHERE (notification_id, channel) IN (
    SELECT notification_id, channel FROM notification_deliveries
    WHERE status = 'pending' AND due_at <= %(now)s
    ORDER BY due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING notification_id, channel, citizen_id, address, attempts
"""

INTERRUPTED = """
UPDATE notification_deliveries SET status = 'failed', finished_at = %(now)s,
    reason = 'interrupted while sending: not sent again, so as never to send it twice'
WHERE status = 'sending' AND claimed_until < %(now)s
"""


@dataclass(frozen=True)
class Claimed:
    """A row this dispatcher now holds: send it, then finish it."""

    notification_id: uuid.UUID
    channel: str
    citizen_id: uuid.UUID
    address: str | None
    attempts: int


@dataclass(frozen=True)
class Finished:
    """A row whose outcome the notification's events do not hold yet."""

    notification_id: uuid.UUID
    channel: str
    status: str
    reason: str | None
    attempts: int
    finished_at: datetime


class DeliveryQueue:
    """The rows in the service's own database."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._using: asyncio.Lock | None = None

    async def _execute(self, query: str | sql.Composed, params: Any = None) -> list[dict[str, Any]]:
        """One statement on the lasting connection (the queuer and the sender take turns),
        opened on first use; a connection that failed is dropped, so the next call opens a
        new one."""
        if self._using is None:
            self._using = asyncio.Lock()
        async with self._using:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            try:
                cur = await self._conn.cursor(row_factory=dict_row).execute(query, params)
                return await cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                await self._conn.close()
                self._conn = None
                raise

    async def close(self) -> None:
        """Close the lasting connection (a later statement opens another)."""
        if self._using is None:
            return
        async with self._using:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def create(self) -> None:
        """The table, once: the queuer, the sender and other replicas may ask at once."""
        conn = await psycopg.AsyncConnection.connect(self.conninfo)
        async with conn, conn.transaction():
            # CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (SCHEMA_LOCK,))
            await conn.execute(SCHEMA)
            await conn.execute(QUEUE_FIGURES)

    async def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add rows; one that exists is left as it is (a notification is queued once)."""
        for row in rows:
            await self._execute(
                "INSERT INTO notification_deliveries (notification_id, channel, citizen_id, "
                "address, due_at) VALUES (%(notification_id)s, %(channel)s, %(citizen_id)s, "
                "%(address)s, %(due_at)s) ON CONFLICT DO NOTHING",
                row,
            )

    async def withdraw(self, notification_id: uuid.UUID, now: datetime) -> None:
        await self._execute(
            "UPDATE notification_deliveries SET status = 'withdrawn', finished_at = %s "
            "WHERE notification_id = %s AND status = 'pending'",
            (now, notification_id),
        )

    async def claim(self, now: datetime, lease: timedelta, limit: int = 20) -> list[Claimed]:
        await self._execute(INTERRUPTED, {"now": now})
        rows = await self._execute(CLAIM, {"now": now, "lease": lease, "limit": limit})
        return [Claimed(**row) for row in rows]

    async def sent(self, row: Claimed, now: datetime) -> None:
        await self._finish(row, "sent", None, now)

    async def failed(self, row: Claimed, reason: str, now: datetime) -> None:
        await self._finish(row, "failed", reason, now)

    async def retry(self, row: Claimed, reason: str, due_at: datetime) -> None:
        await self._execute(
            "UPDATE notification_deliveries SET status = 'pending', due_at = %s, reason = %s, "
            "claimed_until = NULL WHERE notification_id = %s AND channel = %s "
            "AND status = 'sending'",
            (due_at, reason, row.notification_id, row.channel),
        )

    async def _finish(self, row: Claimed, status: str, reason: str | None, now: datetime) -> None:
        await self._execute(
            "UPDATE notification_deliveries SET status = %s, reason = %s, finished_at = %s "
            "WHERE notification_id = %s AND channel = %s AND status = 'sending'",
            (status, reason, now, row.notification_id, row.channel),
        )

    async def unrecorded(self, limit: int = 100) -> list[Finished]:
        """Sent or failed rows whose outcome is not yet an event of the notification."""
        rows = await self._execute(
            "SELECT notification_id, channel, status, reason, attempts, finished_at "
            "FROM notification_deliveries WHERE status IN ('sent', 'failed') AND NOT recorded "
            "LIMIT %s",
            (limit,),
        )
        return [Finished(**row) for row in rows]

    async def recorded(self, row: Finished) -> None:
        await self._execute(
            "UPDATE notification_deliveries SET recorded = true "
            "WHERE notification_id = %s AND channel = %s",
            (row.notification_id, row.channel),
        )

    async def counts(self) -> QueueFigures:
        """Waiting (never tried, or to be tried again), failed, and the oldest due one's age."""
        (row,) = await self._execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(QUEUE_VIEW)))
        return QueueFigures.of(row)
