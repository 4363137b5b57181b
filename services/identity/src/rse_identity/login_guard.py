"""What keeps login standing under abuse: a bound on concurrent password hashes, rate
limits per client address and per account, and failure counting that parallel guesses
cannot undercount.

Failures are counted per username (known or not, so that unknown accounts answer alike)
in a table of identity's database, by one atomic UPDATE that both reserves the attempt
and counts it as a failure before the password is checked: a success then clears the
row. Two parallel guesses can never read the same count, so no more than `lock_after`
wrong passwords are ever checked before the lock-out. Each lock-out lasts twice the one
before, up to `max_lock`: it ends on its own, and a correct login after it clears
everything; an operator at the counter can clear it at once (`clear`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import psycopg

from rse_identity.domain.account import LoginThrottled
from rse_shared.pool import LazyPool


class HashingBusy(Exception):
    """Every password-hashing slot stayed taken for the whole wait: try again shortly."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many logins at once; try again shortly")
        self.retry_after = retry_after


class RateLimited(Exception):
    """Too many login attempts from this address or for this account."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many login attempts; slow down")
        self.retry_after = timedelta(seconds=retry_after)


class HashGate:
    """At most `slots` password hashes at once (argon2 takes 64 MiB each): memory stays
    bounded however many logins arrive; a request waits `wait` seconds for a slot."""

    def __init__(self, slots: int, wait: float) -> None:
        self.slots = slots
        self.wait = wait
        self._semaphore = asyncio.Semaphore(slots)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait)
        except TimeoutError:
            raise HashingBusy(retry_after=max(1, round(self.wait))) from None
        try:
            yield
        finally:
            self._semaphore.release()


class RateLimit:
    """At most `limit` hits per key in any `per` seconds (a sliding window, in memory:
    each replica counts its own)."""

    def __init__(self, limit: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per = per
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one hit for `key`, or raise RateLimited if the window is full."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.per:
            hits.popleft()
        if len(hits) >= self.limit:
            raise RateLimited(retry_after=hits[0] + self.per - now)
        hits.append(now)
        if len(self._hits) > 100_000:  # an attacker's many keys must not grow it forever
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.per}


@dataclass(frozen=True)
class LoginPolicy:
    """From `slow_after` failures each attempt waits longer (1 s, 2 s, ...); the
    `lock_after`-th locks the account for `lock_for`, each next lock-out twice as long,
    never longer than `max_lock`."""

    slow_after: int = 3
    lock_after: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    max_lock: timedelta = timedelta(hours=24)

    def wait_after(self, failures: int, lockouts: int) -> float:
        """Seconds to wait after the `failures`-th failure, with `lockouts` before."""
        if failures >= self.lock_after:
            lock: float = self.lock_for.total_seconds() * 2**lockouts
            return min(lock, self.max_lock.total_seconds())
        if failures >= self.slow_after:
            return float(2 ** (failures - self.slow_after))
        return 0.0


class FailureCounter(Protocol):
    """Counts login failures per username; `reserve` before checking a password."""

    def reserve(self, username: str, now: datetime) -> None: ...

    def clear(self, username: str) -> None: ...


def throttled(next_at: float, now: float, failures: int) -> LoginThrottled:
    # A row whose count went back to 0 with a wait still running is a lock-out.
    return LoginThrottled(timedelta(seconds=next_at - now), locked=failures == 0)


class MemoryFailures:
    """The counter in memory (one process: unit tests)."""

    def __init__(self, policy: LoginPolicy) -> None:
        self.policy = policy
        self._rows: dict[str, tuple[int, int, float]] = {}
        self._lock = threading.Lock()

    def reserve(self, username: str, now: datetime) -> None:
        at = now.timestamp()
        with self._lock:
            failures, lockouts, next_at = self._rows.get(username, (0, 0, 0.0))
            if next_at > at:
                raise throttled(next_at, at, failures)
            self._rows[username] = next_row(self.policy, failures, lockouts, at, next_at)

    def clear(self, username: str) -> None:
        with self._lock:
            self._rows.pop(username, None)


def next_row(
    policy: LoginPolicy, failures: int, lockouts: int, at: float, next_at: float = 0.0
) -> tuple[int, int, float]:
    """The row after one more failure: (failures, lockouts, next attempt at)."""
    counted = failures + 1
    wait = policy.wait_after(counted, lockouts)
    if counted >= policy.lock_after:
        return 0, lockouts + 1, at + wait
    # With no wait the next attempt time stays: a parallel attempt whose clock was read a
    # moment earlier must not find itself throttled by this one.
    return counted, lockouts, at + wait if wait else next_at


SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    username text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    lockouts integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL DEFAULT 0
)
"""
# One statement: every SET reads the row as it was, under the row lock the UPDATE takes.
# A failure that brings no wait leaves next_attempt_at as it was, so that a parallel
# attempt whose clock was read a moment earlier is not throttled by this one.
RESERVE = """
UPDATE login_failures SET
    failures = CASE WHEN failures + 1 >= %(lock_after)s THEN 0 ELSE failures + 1 END,
    lockouts = CASE WHEN failures + 1 >= %(lock_after)s THEN lockouts + 1 ELSE lockouts END,
    next_attempt_at = CASE
        WHEN failures + 1 >= %(lock_after)s
            THEN %(now)s + LEAST(%(lock_for)s * power(2, lockouts), %(max_lock)s)
        WHEN failures + 1 >= %(slow_after)s
            THEN %(now)s + power(2, failures + 1 - %(slow_after)s)
        ELSE next_attempt_at END
WHERE username = %(username)s AND next_attempt_at <= %(now)s
RETURNING failures
"""


def create_table(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> None:
    """CREATE TABLE IF NOT EXISTS, which two sessions at once may still see collide."""
    with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
        conn.execute(schema)


class PostgresFailures:
    """The counter in identity's database: shared by every replica, exact under races."""

    def __init__(self, conninfo: str, policy: LoginPolicy) -> None:
        self.policy = policy
        # A flood of logins must not become a flood of new database sessions.
        self._pool = LazyPool(conninfo, lambda conn: create_table(conn, SCHEMA))

    def reserve(self, username: str, now: datetime) -> None:
        at = now.timestamp()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO login_failures (username) VALUES (%s) ON CONFLICT DO NOTHING",
                (username,),
            )
            if conn.execute(RESERVE, self._parameters(username, at)).fetchone() is not None:
                return
            row = conn.execute(
                "SELECT next_attempt_at, failures FROM login_failures WHERE username = %s",
                (username,),
            ).fetchone()
        next_at, failures = (float(str(row[0])), int(str(row[1]))) if row else (at, 0)
        raise throttled(max(next_at, at), at, failures)

    def clear(self, username: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM login_failures WHERE username = %s", (username,))

    def _parameters(self, username: str, at: float) -> dict[str, object]:
        policy = self.policy
        return {
            "username": username,
            "now": at,
            "slow_after": policy.slow_after,
            "lock_after": policy.lock_after,
            "lock_for": policy.lock_for.total_seconds(),
            "max_lock": policy.max_lock.total_seconds(),
        }

    def _connect(self) -> AbstractContextManager[psycopg.Connection[tuple[object, ...]]]:
        return self._pool.connection()

    def close(self) -> None:
        self._pool.close()


@dataclass
class LoginGuard:
    """What a login passes before its password is hashed: the rate limits, then the gate."""

    gate: HashGate
    per_address: RateLimit
    per_account: RateLimit

    def admit(self, address: str, username: str) -> None:
        """Count the attempt against its address and its account (RateLimited if full)."""
        self.per_address.hit(address)
        self.per_account.hit(username)
