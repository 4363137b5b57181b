"""A few lasting connections to a database, opened on first use with the schema wanted.

A connection per call costs a TLS handshake and a new PostgreSQL backend; under a flood
(of logins, of key fetches) that is most of the work and it exhausts `max_connections`.
A connection idle across a database restart is found dead and replaced before use (one
round trip per checkout).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from psycopg_pool import ConnectionPool


class LazyPool:
    """Up to `max_size` autocommit connections; `setup(conn)` runs once, on the first."""

    def __init__(self, conninfo: str, setup: Callable[[Any], None], *, max_size: int = 4) -> None:
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            open=False,
            check=ConnectionPool.check_connection,
        )
        self._setup = setup
        self._opened = False
        self._opening = threading.Lock()

    def connection(self) -> AbstractContextManager[Any]:
        """A connection for a `with` block (waits while all are in use)."""
        with self._opening:
            if not self._opened:
                self._pool.open(wait=True, timeout=10)
                with self._pool.connection() as conn:
                    self._setup(conn)
                self._opened = True
        return self._pool.connection()

    def close(self) -> None:
        with self._opening:
            if self._opened:
                self._pool.close()
