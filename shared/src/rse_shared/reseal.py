"""Finish a store-key rotation: seal every store-keyed event anew under the current key.

    RSE_SERVICE_NAME=records RSE_POSTGRES_DB=rse_records \\
    RSE_STORE_KEY_FILE=new.key RSE_STORE_KEY_PREVIOUS_FILE=old.key python -m rse_shared.reseal

A rotation: give the service the new key as its store key and the old one as
`RSE_STORE_KEY_PREVIOUS(_FILE)`, restart it (it seals with the new key and still opens what
the old one sealed), run this, then drop the previous key. Every table of the service's
database that holds stored events (the event store and its snapshots: columns
originator_id, originator_version, state) is read in keyset order, in batches; a row under
the old key is opened and sealed again under the new one, with the same binding to its
aggregate and version. Citizens' events (under their data keys) are left as they are; a
row under neither key stops the run (StoreUnreadable). Running it twice changes nothing.
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography.exceptions import InvalidTag
from psycopg import sql

from rse_shared.eventstore import SERVICE_KEYED, StateCipher, StoreUnreadable, state_aad
from rse_shared.keyring import decode_key
from rse_shared.progress import Progress
from rse_shared.settings import ServiceSettings

TABLES = """
SELECT table_name FROM information_schema.columns
WHERE table_schema = current_schema()
  AND column_name IN ('originator_id', 'originator_version', 'state')
GROUP BY table_name HAVING count(*) = 3 ORDER BY table_name
"""


@dataclass
class Resealed:
    table: str
    store_keyed: int = 0
    resealed: int = 0


def _batch(conn: psycopg.Connection[Any], table: str, after: tuple[Any, int], size: int) -> Any:
    query = sql.SQL(
        "SELECT originator_id, originator_version, state FROM {} "
        "WHERE substring(state FROM 1 FOR 1) = %s "
        "AND (originator_id, originator_version) > (%s, %s) "
        "ORDER BY originator_id, originator_version LIMIT %s"
    ).format(sql.Identifier(table))
    return conn.execute(query, (SERVICE_KEYED, *after, size)).fetchall()


def reseal_table(
    conn: psycopg.Connection[Any], table: str, cipher: StateCipher, batch: int = 500
) -> Resealed:
    done = Resealed(table)
    count = sql.SQL("SELECT count(*) FROM {} WHERE substring(state FROM 1 FOR 1) = %s")
    row = conn.execute(count.format(sql.Identifier(table)), (SERVICE_KEYED,)).fetchone()
    progress = Progress(f"reseal {table}", row[0] if row else 0)
    update = sql.SQL(
        "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
    ).format(sql.Identifier(table))
    after: tuple[Any, int] = (uuid.UUID(int=0), 0)
    while rows := _batch(conn, table, after, batch):
        changes = []
        for originator_id, version, state in rows:
            try:
                sealed = cipher.reseal(bytes(state), state_aad(originator_id, version))
            except InvalidTag:
                raise StoreUnreadable(
                    f"{table} {originator_id} v{version} opens with neither store key"
                ) from None
            if sealed is not None:
                changes.append((sealed, originator_id, version))
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(update, changes)
        done.store_keyed += len(rows)
        done.resealed += len(changes)
        progress.update(done.store_keyed)
        after = (rows[-1][0], rows[-1][1])
    progress.close()
    return done


def reseal_database(conninfo: str, cipher: StateCipher, batch: int = 500) -> list[Resealed]:
    """Every stored-event table of the database, resealed under the cipher's current key."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = [name for (name,) in conn.execute(TABLES).fetchall()]
        return [reseal_table(conn, table, cipher, batch) for table in tables]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rse_shared.reseal", description=__doc__)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    settings = ServiceSettings()
    env = settings.keys_env()
    if not env["RSE_STORE_KEY_PREVIOUS"]:
        raise SystemExit("RSE_STORE_KEY_PREVIOUS(_FILE) names no previous key: nothing to do")
    cipher = StateCipher(
        decode_key(env["RSE_STORE_KEY"]),
        None,
        previous=decode_key(env["RSE_STORE_KEY_PREVIOUS"]),
    )
    results = reseal_database(settings.postgres_conninfo(), cipher, args.batch)
    print(f"{'table':<40} {'store-keyed rows':>16} {'resealed':>9}")
    for result in results:
        print(f"{result.table:<40} {result.store_keyed:>16,} {result.resealed:>9,}")


if __name__ == "__main__":
    main()
