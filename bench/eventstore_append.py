"""Event-store append rate beside a raw PostgreSQL INSERT of the same rows, in the same run.

    uv run python bench/eventstore_append.py --events 5000

A ladder, one transaction per event each, so each cost of an event-store append is priced:
raw INSERT of rows of the same size into a table shaped like eventsourcing's (with its
notification-id sequence); + the `LOCK TABLE ... IN EXCLUSIVE MODE` that keeps notification
ids gap-free in commit order; + the NOTIFY that wakes the relay and projectors;
eventsourcing's `insert_events` of ready stored events (its function call, lock, notify);
the full `save` of a one-event aggregate of a citizen whose data key exists (mapping,
transcoding, sealing, trace context: the usual append); and the same save of a new citizen
each time, whose data key is made in the key database first (a registration's cost). Prints
each rate and its ratio to the raw INSERT, and plots them (bench/out/eventstore_append.png).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

import psycopg
from common import Rate, headline, rate_plot
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


CITIZENS = 100
"""Citizens the appends of known citizens take turns among (their data keys made first)."""


def appends(settings: ServiceSettings, events: int, *, new_citizens: bool = False) -> float:
    """Full saves of one-event aggregates: of citizens whose data keys exist (the usual
    append), or each of a new citizen, whose data key is made by it (a registration)."""
    app = Notes(env=settings.eventstore_env())
    known = [uuid.uuid4() for _ in range(CITIZENS)]
    for citizen in known:  # their keys made and cached, as for any registered citizen
        app.save(Note(citizen_id=citizen, text="first note"))
    started = time.perf_counter()
    for i in range(events):
        citizen = uuid.uuid4() if new_citizens else known[i % CITIZENS]
        app.save(Note(citizen_id=citizen, text=f"note {i:08d}"))
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


def recorder_inserts(settings: ServiceSettings, events: int) -> float:
    """eventsourcing's insert_events of stored events mapped beforehand (outside the timing)."""
    app = Notes(env=settings.eventstore_env())
    stored = [
        app.mapper.to_stored_event(e)
        for i in range(events)
        for e in Note(citizen_id=uuid.uuid4(), text=f"note {i:08d}").collect_events()
    ]
    started = time.perf_counter()
    for one in stored:
        app.recorder.insert_events([one])
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


RAW_TABLE = (
    "CREATE TABLE {name} (originator_id uuid NOT NULL, originator_version int NOT NULL, "
    "topic text, state bytea, notification_id bigserial, "
    "PRIMARY KEY (originator_id, originator_version))"
)


def inserts(
    settings: ServiceSettings, events: int, *, lock: bool = False, notify: bool = False
) -> float:
    """Raw INSERTs, one transaction each, with the append's lock and NOTIFY if asked."""
    name = f"raw_{int(lock)}{int(notify)}"
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute(RAW_TABLE.format(name=name))
        rows = [
            (
                uuid.uuid4(),
                json.dumps(
                    {
                        "citizen_id": str(uuid.uuid4()),
                        "text": f"note {i:08d}",
                        "timestamp": "2026-11-27T00:00:00+00:00",
                    }
                ).encode(),
            )
            for i in range(events)
        ]
        started = time.perf_counter()
        for originator, state in rows:
            with conn.transaction():
                if lock:
                    conn.execute(f"LOCK TABLE {name} IN EXCLUSIVE MODE", prepare=True)
                if notify:
                    conn.execute(f"NOTIFY {name}", prepare=True)
                conn.execute(
                    f"INSERT INTO {name} VALUES (%s, 1, %s, %s)",
                    (originator, "bench:Note.Written", state),
                    prepare=True,
                )
        return time.perf_counter() - started


def main(events: int) -> None:
    settings = ServiceSettings()
    database = fresh_database(settings)
    try:
        local = settings.model_copy(update={"postgres_db": database})
        rows = [
            ("raw INSERT (1 row/txn)", inserts(local, events)),
            ("+ LOCK TABLE", inserts(local, events, lock=True)),
            ("+ LOCK TABLE + NOTIFY", inserts(local, events, lock=True, notify=True)),
            ("recorder insert_events", recorder_inserts(local, events)),
            ("event-store save", appends(local, events)),
            ("save, new citizen + key", appends(local, events, new_citizens=True)),
        ]
    finally:
        drop_database(settings, database)
    raw = rows[0][1]
    print(f"\n{'what':<24} {'events':>8} {'seconds':>8} {'events/s':>9} {'x raw':>6}")
    for name, seconds in rows:
        print(
            f"{name:<24} {events:>8} {seconds:>8.2f} {events / seconds:>9,.0f} "
            f"{raw / seconds:>6.2f}"
        )
    save, first = rows[-2][1], rows[-1][1]
    print(f"append / INSERT rate: {raw / save:.2f}")
    print(f"a new citizen's first append (its data key made) / INSERT rate: {raw / first:.2f}")
    headline("eventstore_append", ratio=raw / save, new_citizen_ratio=raw / first)
    rate_plot(
        "eventstore_append",
        f"event-store append ladder ({events:,} events)",
        [Rate(name, events, seconds) for name, seconds in rows],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    main(parser.parse_args().events)
