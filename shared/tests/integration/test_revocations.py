"""The revocations store on the real PostgreSQL: what one replica's consumer took, another
replica refuses after its next refresh, over one lasting connection that a failure only
interrupts once."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from rse_shared.revocation import Revocation, Revocations
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


def test_a_revocation_stored_by_one_replica_is_refused_by_another_after_a_reconnect(
    settings: ServiceSettings,
) -> None:
    conninfo = settings.postgres_conninfo()
    taker, other = Revocations(conninfo), Revocations(conninfo)
    try:
        other.load()
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        now = time.time()
        taker.add([Revocation("jti", first, now, now + 300)])
        other.load()
        assert other.refuses({"jti": first, "iat": now})
        assert other._conn is not None
        backend = other._conn.info.backend_pid
        # The server ends the connection (a restart, an idle timeout): one refresh fails...
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        taker.add([Revocation("jti", second, now, now + 300)])
        with pytest.raises(psycopg.OperationalError):
            other.load()
        # ...and the next one opens a new connection and sees what was missed.
        other.load()
        assert other._conn.info.backend_pid != backend
        assert other.refuses({"jti": second, "iat": now})
        assert not other.refuses({"jti": uuid.uuid4().hex, "iat": now})
    finally:
        taker.close()
        other.close()
