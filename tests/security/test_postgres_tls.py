"""PostgreSQL takes TLS only.

The attacker: someone on the network path who would read or alter the event stores'
traffic, or a client that connects with valid credentials but without TLS. The server's
`hostnossl ... reject` refuses the plaintext connection; a client that checks the server's
certificate against the local CA (`sslmode=verify-full`) gets in.
"""

from __future__ import annotations

import psycopg
import pytest

from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


def test_valid_credentials_without_tls_are_refused(infra: ServiceSettings) -> None:
    plaintext = infra.model_copy(update={"postgres_db": "postgres", "postgres_sslmode": "disable"})
    with pytest.raises(psycopg.OperationalError, match=r"no encryption|reject"):
        psycopg.connect(plaintext.postgres_conninfo(), connect_timeout=5).close()


def test_a_client_verifying_the_servers_certificate_gets_in(infra: ServiceSettings) -> None:
    verified = infra.model_copy(update={"postgres_db": "postgres"})
    assert "sslmode=verify-full" in verified.postgres_conninfo()
    with psycopg.connect(verified.postgres_conninfo(), connect_timeout=5) as conn:
        assert conn.pgconn.ssl_in_use
