"""The keyring on the real key database: one key per citizen whoever asks first, every
fetch logged, erasure final, the KEK rotated without touching the data keys."""

from __future__ import annotations

import base64
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from rse_shared.key_access import rewrap_all
from rse_shared.keyring import CitizenErased, KekMismatch, PostgresKeyring, new_key
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def conninfo(infra: ServiceSettings) -> str:
    return infra.postgres_conninfo("rse_keys")


def test_services_asking_at_once_get_one_key(conninfo: str) -> None:
    kek = new_key()
    rings = [PostgresKeyring(conninfo, kek, service=f"s{n}", cache_seconds=0) for n in range(4)]
    citizen = uuid.uuid4()
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda n: rings[n % 4].data_key(citizen), range(16)))
    assert len(keys) == 1
    with psycopg.connect(conninfo) as conn:
        logged = conn.execute(
            "SELECT count(*), count(DISTINCT service) FROM key_access WHERE citizen_id = %s",
            (citizen,),
        ).fetchone()
    assert logged is not None
    assert logged[0] >= 16 and logged[1] == 4  # every fetch, by every service, is on record
    for ring in rings:
        ring.close()


def test_an_erased_key_is_gone_for_every_service_and_cannot_be_made_again(conninfo: str) -> None:
    kek = new_key()
    records = PostgresKeyring(conninfo, kek, service="records", cache_seconds=0)
    identity = PostgresKeyring(conninfo, kek, service="identity", cache_seconds=0)
    citizen = uuid.uuid4()
    records.data_key(citizen)
    identity.erase(citizen, erased_by="op.1", legal_basis="wrongly registered")
    with pytest.raises(CitizenErased):
        records.data_key(citizen)
    with pytest.raises(CitizenErased):
        identity.data_keys([uuid.uuid4(), citizen])
    kept = identity.erasure(citizen)
    assert kept is not None
    assert (kept.erased_by, kept.legal_basis) == ("op.1", "wrongly registered")
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT wrapped FROM data_keys WHERE citizen_id = %s", (citizen,)
        ).fetchone()
    assert row == (None,)
    records.close()
    identity.close()


def test_a_cached_key_outlives_erasure_only_as_long_as_the_cache(conninfo: str) -> None:
    kek = new_key()
    cached = PostgresKeyring(conninfo, kek, service="records", cache_seconds=300)
    citizen = uuid.uuid4()
    cached.data_key(citizen)
    PostgresKeyring(conninfo, kek, service="identity").erase(
        citizen, erased_by="op", legal_basis="legal order"
    )
    assert cached.data_key(citizen)  # still in memory, for at most cache_seconds
    cached.forget(citizen)  # as on CitizenErased
    with pytest.raises(CitizenErased):
        cached.data_key(citizen)
    cached.close()


def test_a_wrong_kek_opens_nothing_and_rotation_keeps_the_data_keys(conninfo: str) -> None:
    old, new = new_key(), new_key()
    ring = PostgresKeyring(conninfo, old, service="identity", cache_seconds=0)
    citizen = uuid.uuid4()
    key = ring.data_key(citizen)
    with pytest.raises(KekMismatch):
        PostgresKeyring(conninfo, new_key(), service="thief", cache_seconds=0).data_key(citizen)
    assert ring.rewrap(new) >= 1
    rotated = PostgresKeyring(conninfo, new, service="identity", cache_seconds=0)
    assert rotated.data_key(citizen) == key
    ring.close()
    rotated.close()


def as_role(service: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the key database as `service`'s own key role."""
    settings = ServiceSettings(service_name=service, environment="test")
    return psycopg.connect(settings.keyring_conninfo(), autocommit=True)


@pytest.mark.parametrize(
    ("service", "statement"),
    [
        ("records", "UPDATE data_keys SET wrapped = NULL"),  # shred a citizen's data
        ("records", "DELETE FROM data_keys"),
        ("records", "DELETE FROM key_access"),  # wipe the trail of what it fetched
        ("records", "SELECT * FROM key_access"),  # learn whose keys others fetched
        ("identity", "DELETE FROM key_access"),
        ("identity", "UPDATE data_keys SET kek_id = 'x'"),  # only erasure columns are its
        ("auditor", "SELECT wrapped FROM data_keys"),  # the auditor sees no key
        (
            "auditor",
            "INSERT INTO key_access (service, citizen_id, purpose) "
            "VALUES ('records', gen_random_uuid(), 'forged')",
        ),
        ("records", "CREATE TABLE stolen AS SELECT * FROM data_keys"),
    ],
)
def test_a_service_role_cannot_do_what_is_not_its_own(service: str, statement: str) -> None:
    with as_role(service) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_auditor_reads_the_access_log_and_what_is_kept_of_an_erasure(conninfo: str) -> None:
    citizen = uuid.uuid4()
    ring = PostgresKeyring(conninfo, new_key(), service="identity", cache_seconds=0)
    ring.data_key(citizen, "store")
    ring.erase(citizen, erased_by="op.2", legal_basis="legal order")
    with as_role("auditor") as conn:
        trail = conn.execute(
            "SELECT service, purpose FROM key_access WHERE citizen_id = %s ORDER BY at", (citizen,)
        ).fetchall()
        kept = conn.execute(
            "SELECT erased_by, legal_basis FROM data_keys WHERE citizen_id = %s", (citizen,)
        ).fetchone()
    assert trail == [("identity", "store"), ("identity", "erase")]
    assert kept == ("op.2", "legal order")
    ring.close()


def test_the_kek_rotation_command_rewraps_the_keys_it_wrapped(
    infra: ServiceSettings, conninfo: str, tmp_path: Path
) -> None:
    """`python -m rse_shared.key_access rewrap`: same data keys, now opened by the new KEK
    only; running it again (an interrupted rotation finished) changes nothing."""
    old, new = new_key(), new_key()
    citizen = uuid.uuid4()
    before = PostgresKeyring(conninfo, old, service="records", cache_seconds=0)
    key = before.data_key(citizen)
    before.close()
    settings = infra.model_copy(update={"data_kek": SecretStr(base64.b64encode(old).decode())})
    new_file = tmp_path / "new.kek"
    new_file.write_text(base64.b64encode(new).decode())
    assert rewrap_all(settings, new_file) == 1
    assert rewrap_all(settings, new_file) == 0
    after = PostgresKeyring(conninfo, new, service="records", cache_seconds=0)
    assert after.data_key(citizen) == key
    after.close()
    stale = PostgresKeyring(conninfo, old, service="records", cache_seconds=0)
    with pytest.raises(KekMismatch):
        stale.data_key(citizen)
    stale.close()
