"""The login-failure counter in identity's database, under a flood of attempts."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest

from rse_identity.config import Settings
from rse_identity.domain.account import LoginThrottled
from rse_identity.login_guard import LoginPolicy, PostgresFailures
from rse_shared.testing import Kit

pytestmark = pytest.mark.integration


def backends(conninfo: str) -> set[int]:
    """The pids of the database's backends, the asking one left out."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {int(row[0]) for row in rows}


def test_a_flood_of_attempts_reuses_a_few_connections_and_still_counts_every_one(
    kit: Kit,
) -> None:
    conninfo = kit.settings(Settings).postgres_conninfo()
    policy = LoginPolicy(slow_after=5, lock_after=5)
    failures = PostgresFailures(conninfo, policy)
    victim = f"victim-{uuid.uuid4().hex[:8]}"
    others = [f"user-{uuid.uuid4().hex[:8]}" for _ in range(40)]
    failures.clear(victim)  # opens the pool and makes the table
    first = backends(conninfo)
    assert len(first) == 1

    def attempt(username: str) -> bool:
        try:
            failures.reserve(username, datetime.now(UTC))
        except LoginThrottled:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        admitted = list(pool.map(attempt, [victim] * 30))
        list(pool.map(attempt, others))
        list(pool.map(failures.clear, others))

    # Parallel guesses at one account: never more checked than the lock-out allows.
    assert sum(admitted) == policy.lock_after
    # 110 statements from 16 threads on the pool's few lasting connections (a connection
    # per statement would have left none open), the first among them.
    after = backends(conninfo)
    assert first <= after and len(after) <= 4

    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    # Connections killed under it (a database restart): the next attempt still counts.
    with pytest.raises(LoginThrottled):
        failures.reserve(victim, datetime.now(UTC))
    failures.close()
    assert backends(conninfo) == set()
