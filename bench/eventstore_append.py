"""Event-store append rate beside a raw PostgreSQL INSERT of the same rows, in the same run.

    uv run python bench/eventstore_append.py --events 5000

Appends one-event aggregates through an eventsourcing application on PostgreSQL (the way
every command is saved: the event and its notification in one transaction, table lock for
gap-free notification ids), then INSERTs rows of the same size one transaction each into a
plain table, prints both rates and their ratio, and plots them
(bench/out/eventstore_append.png).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

import psycopg
from common import Rate, rate_plot
from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import ServiceApplication
from rse_shared.settings import ServiceSettings


class Note(Aggregate):
    @event("Written")
    def __init__(self, citizen_id: uuid.UUID, text: str) -> None:
        self.text = text


class Notes(ServiceApplication):
    name = "bench_notes"


def fresh_database(settings: ServiceSettings) -> str:
    name = f"rse_bench_{uuid.uuid4().hex[:8]}"
    admin = settings.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(settings: ServiceSettings, name: str) -> None:
    admin = settings.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def appends(settings: ServiceSettings, events: int) -> float:
    app = Notes(env=settings.eventstore_env())
    started = time.perf_counter()
    for i in range(events):
        app.save(Note(citizen_id=uuid.uuid4(), text=f"note {i:08d}"))
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


def inserts(settings: ServiceSettings, events: int) -> float:
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute("CREATE TABLE raw_rows (id uuid PRIMARY KEY, version int, "
                     "topic text, state bytea)")
        started = time.perf_counter()
        for i in range(events):
            state = json.dumps({"citizen_id": str(uuid.uuid4()), "text": f"note {i:08d}",
                                "timestamp": "2026-11-27T00:00:00+00:00"}).encode()
            with conn.transaction():
                conn.execute("INSERT INTO raw_rows VALUES (%s, 1, %s, %s)",
                             (uuid.uuid4(), "bench:Note.Written", state))
        return time.perf_counter() - started


def main(events: int) -> None:
    settings = ServiceSettings()
    database = fresh_database(settings)
    try:
        local = settings.model_copy(update={"postgres_db": database})
        rows = [("raw INSERT (1 row/txn)", events, inserts(local, events)),
                ("event-store append", events, appends(local, events))]
    finally:
        drop_database(settings, database)
    print(f"\n{'what':<24} {'events':>8} {'seconds':>8} {'events/s':>9}")
    for name, count, seconds in rows:
        print(f"{name:<24} {count:>8} {seconds:>8.2f} {count / seconds:>9,.0f}")
    print(f"append / INSERT rate: {rows[0][2] / rows[1][2]:.2f}")
    rate_plot("eventstore_append", f"event-store append vs raw INSERT ({events:,} events)",
              [Rate(name, count, seconds) for name, count, seconds in rows])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    main(parser.parse_args().events)
