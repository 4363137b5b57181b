"""eventsourcing's PostgreSQL persistence, over TLS.

The library's datastore builds its connections from a fixed set of keywords and has no
TLS options; this factory adds libpq's `sslmode` and `sslrootcert` (from the service's
event store environment, `POSTGRES_SSLMODE` / `POSTGRES_SSLROOTCERT`) to its pool before
the pool opens, so every event store connection checks the server's certificate.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment


class TLSPostgresFactory(PostgresFactory):
    """PostgresFactory whose connections use TLS as the service's settings say."""

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        tls = {"sslmode": env.get("POSTGRES_SSLMODE") or "verify-full"}
        if env.get("POSTGRES_SSLROOTCERT"):
            tls["sslrootcert"] = str(env.get("POSTGRES_SSLROOTCERT"))
        kwargs = self.datastore.pool.kwargs
        if not isinstance(kwargs, dict):  # the library passes a dict; anything else is new
            raise TypeError(f"unexpected connection arguments {type(kwargs).__name__}")
        kwargs.update(tls)
