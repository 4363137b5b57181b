"""Revoked access tokens: what every service's TokenVerifier refuses before they expire.

identity publishes `TokenRevoked` (a logout, an operator's revocation) and
`StaffDeactivated` on `identity.events`. Each service's consumer of that topic hands them
to its `Revocations` (`take`), which keeps them in memory for its own verifier and in a
table of the service's own database (`revoked_tokens`), so that they survive a restart
and reach the other replicas, which re-read the table every `refresh` seconds. An entry
lives only as long as the tokens it covers could: then it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import psycopg
from psycopg.errors import DuplicateTable, UniqueViolation

from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.contracts.identity import StaffDeactivated, TokenRevoked
from rse_shared.eventstore import in_thread
from rse_shared.loops import pause

T = TypeVar("T")

Kind = Literal["jti", "sid", "sub"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS revoked_tokens (
    kind text NOT NULL,
    value text NOT NULL,
    revoked_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    PRIMARY KEY (kind, value)
)
"""
UPSERT = """
INSERT INTO revoked_tokens (kind, value, revoked_at, expires_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (kind, value) DO UPDATE SET
    revoked_at = GREATEST(revoked_tokens.revoked_at, EXCLUDED.revoked_at),
    expires_at = GREATEST(revoked_tokens.expires_at, EXCLUDED.expires_at)
"""


@dataclass(frozen=True)
class Revocation:
    """Tokens named by `kind` (their jti, session or subject) issued until `at` are void."""

    kind: Kind
    value: str
    at: float
    expires_at: float


def revocations_of(event: IntegrationEvent) -> list[Revocation]:
    """What an identity event revokes (nothing, for every other event)."""
    if isinstance(event, TokenRevoked):
        at, until = event.revoked_at.timestamp(), event.expires_at.timestamp()
        named: list[tuple[Kind, str | None]] = [("jti", event.jti), ("sid", event.session_id)]
        return [Revocation(kind, value, at, until) for kind, value in named if value]
    if isinstance(event, StaffDeactivated):
        at, until = event.deactivated_at.timestamp(), event.tokens_expire_by.timestamp()
        return [Revocation("sub", event.subject, at, until)]
    return []


class Revocations:
    """The revocations in force: in memory, and in the service's database when it has one."""

    def __init__(self, conninfo: str | None = None, *, refresh: float = 1.0) -> None:
        self.conninfo = conninfo
        self.refresh = refresh
        self._entries: dict[tuple[Kind, str], Revocation] = {}
        self._lock = threading.Lock()
        self._schema = threading.Lock()  # concurrent CREATE TABLE IF NOT EXISTS may collide
        # One lasting connection for the store (reopened after a failure): the refresh runs
        # every second in every service, and a TLS connection each time costs CPU.
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._using = threading.Lock()

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token's claims fall under a revocation."""
        issued = float(claims.get("iat", 0))
        keys: list[tuple[Kind, Any]] = [
            ("jti", claims.get("jti")),
            ("sid", claims.get("sid")),
            ("sub", claims.get("sub")),
        ]
        with self._lock:
            found = [self._entries.get((kind, str(value))) for kind, value in keys if value]
        # A subject's revocation voids what was issued until then, not its later logins.
        return any(r is not None and (r.kind != "sub" or issued <= r.at) for r in found)

    def take(self, event: IntegrationEvent) -> None:
        """Keep what `event` revokes (called by the consumer, in its worker thread)."""
        self.add(revocations_of(event))

    def add(self, revocations: Iterable[Revocation]) -> None:
        """Keep `revocations`: stored first, so that a failure leaves the event to retry."""
        entries = list(revocations)
        if not entries:
            return
        if self.conninfo is not None:
            rows = [(r.kind, r.value, r.at, r.expires_at) for r in entries]

            def store(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
                with conn.cursor() as cursor:
                    cursor.executemany(UPSERT, rows)

            self._with_store(store)
        self._remember(entries)

    def _with_store(self, work: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        """`work` on the lasting connection, opened (and the table made) on first use; a
        connection that failed is dropped, so the next call opens a new one."""
        assert self.conninfo is not None
        with self._using:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True)
                self._create(self._conn)
            try:
                return work(self._conn)
            except psycopg.OperationalError:
                self._conn.close()
                self._conn = None
                raise

    def close(self) -> None:
        with self._using:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def load(self) -> None:
        """Re-read the stored revocations (what other replicas' consumers took), drop expired."""
        if self.conninfo is None:
            return
        now = time.time()

        def read(conn: psycopg.Connection[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            conn.execute("DELETE FROM revoked_tokens WHERE expires_at < %s", (now,))
            return conn.execute(
                "SELECT kind, value, revoked_at, expires_at FROM revoked_tokens"
            ).fetchall()

        rows = self._with_store(read)
        with self._lock:
            self._entries = {
                key: entry for key, entry in self._entries.items() if entry.expires_at >= now
            }
        self._remember([Revocation(kind, value, at, until) for kind, value, at, until in rows])

    def _create(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        # Two sessions' CREATE TABLE IF NOT EXISTS at once may still collide.
        with self._schema, contextlib.suppress(UniqueViolation, DuplicateTable):
            conn.execute(SCHEMA)

    def _remember(self, entries: Iterable[Revocation]) -> None:
        with self._lock:
            for entry in entries:
                known = self._entries.get((entry.kind, entry.value))
                if known is None or known.at < entry.at:
                    self._entries[entry.kind, entry.value] = entry

    async def follow(self, stop: asyncio.Event) -> None:
        """Worker: re-read the stored revocations every `refresh` seconds until stopped."""
        try:
            while not stop.is_set():
                await in_thread(self.load)
                await pause(stop, self.refresh)
        finally:
            await in_thread(self.close)
