"""Scale-out: one records process, then two in one consumer group on 6-partition topics.

    uv run python bench/scale_out.py --citizens 1500

Each round runs on fresh topics (identity and consent events topics with 6 partitions) and
a fresh database: records runs as `--processes` processes of its own (one, then two) that
share the database and one consumer group, each with its API, relay, projectors and
consumer. Once the group is stable with every process a member, the events are produced
straight onto the topics, as identity's and consent's relays would publish them (contract
envelopes, keyed by citizen, hash-chained per partition, acks=all): a CitizenRegistered per
citizen and a ConsentGranted for every second one. The rate runs from the first event
applied in records' event store to the last.

Exactly once, asserted from records' event store: every citizen's health record opened
exactly once (one HealthRecord.Opened per citizen, no other), every consent granted once
(one ConsentRegister.Granted per consent); and records' projection holds each record once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from aiokafka.admin import NewTopic
from common import (
    Rate,
    ServiceSpec,
    free_port,
    headline,
    infra_settings,
    rate_plot,
    rate_table,
    scratch,
    service_process,
    table,
)
from load import BackingTable, admin, producer, say
from pymongo import AsyncMongoClient

from rse_records.application import RecordsApplication
from rse_records.domain.consent_register import ConsentRegister
from rse_records.domain.health_record import HealthRecord
from rse_shared.chain import GENESIS, link, partition_for
from rse_shared.contracts import CitizenRegistered, ConsentGranted, IntegrationEvent
from rse_shared.testing import TokenMint, unique

PARTITIONS = 6
EVENTS = f"{RecordsApplication.name}_events"


def events_for(citizens: list[uuid.UUID]) -> tuple[list[IntegrationEvent], list[IntegrationEvent]]:
    """A registration per citizen (identity's topic), a consent for every second (consent's)."""
    now = datetime.now(UTC)
    registered = [
        CitizenRegistered(
            event_id=uuid.uuid4(),
            occurred_at=now,
            producer="identity",
            citizen_id=c,
            source_position=i + 1,
            sns_number=f"3{i:08d}",
            full_name="Ana Silva",
            date_of_birth=date(1980, 1, 1),
        )
        for i, c in enumerate(citizens)
    ]
    granted = [
        ConsentGranted(
            event_id=uuid.uuid4(),
            occurred_at=now,
            producer="consent",
            citizen_id=c,
            source_position=i + 1,
            consent_id=uuid.uuid4(),
            grantee_kind="health_unit",
            grantee_id="USF Bench",
            categories=("vaccinations",),
            purpose="treatment",
            valid_from=now - timedelta(minutes=1),
            valid_until=None,
        )
        for i, c in enumerate(citizens[::2])
    ]
    return registered, granted


async def publish(topic: str, events: list[IntegrationEvent]) -> None:
    """As a relay publishes: keyed by citizen, chained per partition, acks=all."""
    heads = [GENESIS] * PARTITIONS
    sender = producer(acks="all", enable_idempotence=True, linger_ms=5)
    await sender.start()
    try:
        sent = []
        for event in events:
            key = str(event.citizen_id).encode()
            partition = partition_for(key, PARTITIONS)
            document = link(event.to_wire(), heads[partition])
            heads[partition] = document["chain_hash"]
            sent.append(
                await sender.send(
                    topic, json.dumps(document).encode(), key=key, partition=partition
                )
            )
        await asyncio.gather(*sent)
    finally:
        await sender.stop()


async def topics(labels: list[str]) -> list[str]:
    # `...<service>.events`: consumers read a topic's owner from its name.
    names = [f"{unique('bench.scale').replace('_', '.')}.{label}.events" for label in labels]
    client = admin()
    await client.start()
    try:
        await client.create_topics(
            [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
        )
    finally:
        await client.close()
    return names


async def drop_topics(names: list[str]) -> None:
    client = admin()
    await client.start()
    try:
        await client.delete_topics(names)
    finally:
        await client.close()


async def group_stable(group: str, members: int, patience: float) -> None:
    """Until the consumer group is Stable with `members` members (its rebalance is over)."""
    client = admin()
    await client.start()
    deadline = time.perf_counter() + patience
    try:
        while time.perf_counter() < deadline:
            described = await client.describe_consumer_groups([group])
            state = described[0].groups[0]  # (error, group, state, protocol type, ...)
            if state[2] == "Stable" and len(state[5]) == members:
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"consumer group {group} not stable with {members} members")
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def records_group(processes: int) -> AsyncIterator[tuple[ServiceSpec, list[str]]]:
    """`processes` records processes sharing a fresh database and one consumer group."""
    names = await topics(["identity", "consent", "requests"])
    try:
        async with scratch() as fresh, contextlib.AsyncExitStack() as stack:
            records_topic = await fresh.topic("records")
            database = fresh.database()
            jwks = TokenMint(fresh.infra).jwks  # no token is used: the API is not under test
            specs = [
                ServiceSpec(
                    "records", database, free_port(), records_topic, consumes=names, jwks=jwks
                )
                for _ in range(processes)
            ]
            for spec in specs:  # one after another: two first migrations would race
                await stack.enter_async_context(service_process(spec))
            await group_stable(database, processes, patience=60)
            yield specs[0], names
    finally:
        await drop_topics(names)


class Store:
    """Counts in records' event store and projection."""

    def __init__(self, conninfo: str, mongo: Any) -> None:
        self.conninfo, self.mongo = conninfo, mongo

    def count(self, kind: str) -> int:
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {EVENTS} WHERE topic LIKE %s", (f"%:{kind}",)
            ).fetchone()
        return int(row[0]) if row else 0

    def applied(self) -> int:
        return self.count("HealthRecord.Opened") + self.count("ConsentRegister.Granted")

    def per_originator(self, kind: str) -> dict[uuid.UUID, int]:
        with psycopg.connect(self.conninfo) as conn:
            rows = conn.execute(
                f"SELECT originator_id, count(*) FROM {EVENTS} WHERE topic LIKE "
                "%s GROUP BY originator_id",
                (f"%:{kind}",),
            ).fetchall()
        return {uuid.UUID(str(r[0])): int(r[1]) for r in rows}


async def timed(store: Store, expected: int, patience: float) -> Rate:
    """Events applied per second, from the first applied to the last (or to the patience)."""
    first: float | None = None
    timeline: list[tuple[float, int]] = []
    deadline = time.perf_counter() + patience
    applied = 0
    while applied < expected and time.perf_counter() < deadline:
        applied = await asyncio.to_thread(store.applied)
        now = time.perf_counter()
        if applied and first is None:
            first = now
        if first is not None:
            timeline.append((now - first, applied))
        await asyncio.sleep(0.2)
    seconds = timeline[-1][0] if timeline else patience
    return Rate("", applied, max(seconds, 1e-3), timeline)


def exactly_once(store: Store, citizens: list[uuid.UUID], grants: int) -> list[str]:
    """What breaks exactly-once effect in records' event store (empty: nothing)."""
    opened = store.per_originator("HealthRecord.Opened")
    granted = store.per_originator("ConsentRegister.Granted")
    wanted = {HealthRecord.create_id(c) for c in citizens}
    registers = {ConsentRegister.create_id(c) for c in citizens[::2]}
    problems = []
    if set(opened) != wanted:
        problems.append(
            f"{len(wanted - set(opened))} records missing, {len(set(opened) - wanted)} unexpected"
        )
    if any(n != 1 for n in opened.values()):
        problems.append("a record opened more than once")
    if set(granted) != registers or sum(granted.values()) != grants:
        problems.append(f"consents applied {sum(granted.values())} times, expected {grants}")
    return problems


async def projected_once(mongo: Any, citizens: list[uuid.UUID], patience: float) -> bool:
    ids = [str(c) for c in citizens]
    table = BackingTable(mongo.records)
    deadline = time.perf_counter() + patience
    try:
        while time.perf_counter() < deadline:
            if len(await table.find("_id", "_id", ids)) == len(ids):
                return await table.count() == len(ids)
            await asyncio.sleep(0.5)
        return False
    finally:
        await table.close()


async def round_of(processes: int, count: int, patience: float) -> tuple[Rate, list[str]]:
    """One round: `processes` records processes apply `count` citizens' events."""
    citizens = [uuid.uuid4() for _ in range(count)]
    registered, granted = events_for(citizens)
    async with records_group(processes) as (spec, (identity, consent, _)):
        settings = spec_settings(spec)
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url)
        store = Store(settings.postgres_conninfo(), mongo[spec.database])
        say(f"{processes} process(es): producing {len(registered) + len(granted)} events")
        timing = asyncio.create_task(timed(store, len(registered) + len(granted), patience))
        await asyncio.gather(publish(identity, registered), publish(consent, granted))
        rate = await timing
        problems = await asyncio.to_thread(exactly_once, store, citizens, len(granted))
        if not await projected_once(mongo[spec.database], citizens, 30):
            problems.append("records' projection does not hold every record exactly once")
        await mongo.close()
    rate.label = f"{processes} records process{'es' if processes > 1 else ''}"
    return rate, problems


def spec_settings(spec: ServiceSpec) -> Any:
    return infra_settings().model_copy(
        update={"postgres_db": spec.database, "mongo_db": spec.database}
    )


async def main(count: int, patience: float) -> int:
    results = [await round_of(n, count, patience) for n in (1, 2)]
    rates = [rate for rate, _ in results]
    print(
        f"\nrecords applying {count} CitizenRegistered + {count - count // 2} ConsentGranted "
        f"from {PARTITIONS}-partition topics, one consumer group"
    )
    print(rate_table(rates))
    print(f"two / one: {rates[1].per_second / rates[0].per_second:.2f}x")
    rows = [(r.label, "yes" if not p else "NO: " + "; ".join(p)) for r, p in results]
    print(table(("round", "every event applied exactly once"), rows))
    headline("scale_out", one=rates[0].per_second, two=rates[1].per_second)
    rate_plot("scale_out", "records: one process vs two in one group", rates)
    return 0 if all(not p for _, p in results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--citizens",
        type=int,
        default=1500,
        help="citizens registered (and a consent for every second one)",
    )
    parser.add_argument(
        "--patience", type=float, default=75.0, help="seconds a round may take to apply everything"
    )
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.citizens, args.patience)))
