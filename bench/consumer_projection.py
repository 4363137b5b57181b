"""Consumer + projection rate beside a raw aiokafka consume of the same topic, same run.

    uv run python bench/consumer_projection.py --events 2000

Puts `--events` CitizenRegistered messages on a fresh identity topic (as identity's relay
would: JSON contracts keyed by citizen), then times (1) a bare aiokafka consumer reading
them all and (2) the records service, built by its own bootstrap on a fresh database and
run in this process, consuming them as it does in production: FastStream subscriber,
IdempotentConsumer (inbox + Tracking record saved with the new events in one
transaction, offset committed after), RecordsApplication opening each record, then the
ProjectionRunner writing each record to MongoDB. Records' rates are timed from its first
applied message (the consumer group's join is not counted) to the last message applied,
and to the last record visible in the read model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from common import (
    Rate,
    headline,
    infra_settings,
    rate_plot,
    rate_table,
    raw_consume,
    scratch,
)
from load import BackingTable

from rse_records.bootstrap import bootstrap
from rse_records.config import Settings
from rse_shared.chain import GENESIS, link, partition_for
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.keyring import Keyring
from rse_shared.progress import Progress
from rse_shared.protection import protect
from rse_shared.service import Service
from rse_shared.testing import a_registration, create_topic, running

PARTITIONS = 3


class ClearSettings(Settings):
    """records with no keys: events stored in clear, nothing to reveal (the platform
    before encryption, the baseline that prices it)."""

    def keys_env(self) -> dict[str, str]:
        return {}


async def produce(
    bootstrap_servers: str, topic: str, events: int, keyring: Keyring | None = None
) -> None:
    """`events` registrations on `topic`, chained, and protected with `keyring` if given
    (as identity's relay publishes them)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        **tool_options(ADMIN),
        enable_idempotence=True,
        linger_ms=5,
    )
    await producer.start()
    try:
        pending, heads = [], [GENESIS] * PARTITIONS
        for _ in range(events):
            event = a_registration()
            key = str(event.citizen_id).encode()
            partition = partition_for(key, PARTITIONS)
            wire = event.to_wire()
            if keyring is not None:
                wire = await asyncio.to_thread(protect, wire, event.protected_fields, keyring)
            document = link(wire, heads[partition])  # chained, as a relay does
            heads[partition] = document["chain_hash"]
            pending.append(
                await producer.send(
                    topic, json.dumps(document).encode(), key=key, partition=partition
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def applied(service: Service, topic: str) -> int:
    """Messages of `topic` the consumer has applied (its Tracking records: offset + 1)."""
    recorder: Any = service.app.recorder
    ids = [
        await asyncio.to_thread(recorder.max_tracking_id, f"{topic}:{p}") for p in range(PARTITIONS)
    ]
    return sum(i or 0 for i in ids)


async def consume_and_project(
    service: Service, topic: str, events: int, patience: float
) -> tuple[Rate, Rate]:
    consumer = Rate("idempotent consumer (events stored)", events, 0.0)
    projected = Rate("consumer + projection (read model)", events, 0.0)
    progress = Progress("records", events)
    deadline = time.perf_counter() + patience
    first: tuple[float, int] | None = None
    records = BackingTable(service.db.records)
    async with running(service):
        while projected.seconds == 0.0:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"records did not catch up within {patience:.0f}s")
            await asyncio.sleep(0.1)
            now = time.perf_counter()
            done = await applied(service, topic)
            visible = await records.count()
            if first is None and done:
                first = (now, done)
            if first is None:
                continue
            elapsed = now - first[0]
            consumer.timeline.append((elapsed, done - first[1]))
            projected.timeline.append((elapsed, visible - first[1]))
            progress.update(visible)
            if done >= events and not consumer.seconds:
                consumer.seconds = elapsed
            if visible >= events:
                projected.seconds = elapsed
    progress.close()
    await records.close()
    assert first is not None
    # Timed from the first sample that saw progress: what was done before it is not counted.
    consumer.count = projected.count = events - first[1]
    return consumer, projected


async def raw_consume_into_postgres(
    bootstrap: str, topic: str, conninfo: str, *, per_message: bool
) -> Rate:
    """The physical limit of this design: every message consumed and its row written to
    PostgreSQL, in one transaction per fetched batch (or, `per_message`, one per message)."""
    label = "raw consume + INSERT, 1 txn/" + ("message" if per_message else "batch")
    table = "raw_rows_per_message" if per_message else "raw_rows_per_batch"
    rate = Rate(label, 0, 0.0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(ADMIN)
    )
    async with await psycopg.AsyncConnection.connect(conninfo) as db:
        await db.execute(
            f"CREATE TABLE {table} (topic text, part int, off bigint, value bytea,"
            " PRIMARY KEY (topic, part, off))"
        )
        await db.commit()
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            started = time.perf_counter()
            while any([await consumer.position(tp) < ends[tp] for tp in tps]):
                batch = await consumer.getmany(timeout_ms=1000, max_records=300)
                rows = [
                    (m.topic, m.partition, m.offset, m.value) for ms in batch.values() for m in ms
                ]
                for chunk in [[r] for r in rows] if per_message else [rows]:
                    async with db.cursor() as cursor:
                        await cursor.executemany(
                            f"INSERT INTO {table} VALUES (%s, %s, %s, %s)",
                            chunk,
                        )
                    await db.commit()
                rate.count += len(rows)
                rate.timeline.append((time.perf_counter() - started, rate.count))
            rate.seconds = time.perf_counter() - started
        finally:
            await consumer.stop()
    return rate


def records_on(database: str, own: str, source: str, *, sealed: bool) -> Service:
    kind = Settings if sealed else ClearSettings
    settings = kind(
        environment="test", postgres_db=database, mongo_db=database, consumer_group=database
    )
    return bootstrap(settings, topic=own, consumes=[source])


async def main(events: int, patience: float) -> None:
    infra = infra_settings()
    async with scratch() as fresh:
        source = await create_topic(infra.kafka_bootstrap, "identity")  # owned by identity
        in_clear = await create_topic(infra.kafka_bootstrap, "identity")
        fresh.topics += [source, in_clear]
        own, own_clear = await fresh.topic("records"), await fresh.topic("records")
        await produce(infra.kafka_bootstrap, source, events, infra.data_keyring("identity"))
        await produce(infra.kafka_bootstrap, in_clear, events)
        raw = Rate("raw aiokafka consume", 0, 0.0)
        started = time.perf_counter()
        raw.count = await raw_consume(infra.kafka_bootstrap, source, PARTITIONS, raw.timeline)
        raw.seconds = time.perf_counter() - started
        database = fresh.database()
        conninfo = infra.model_copy(update={"postgres_db": database}).postgres_conninfo()
        batched = await raw_consume_into_postgres(
            infra.kafka_bootstrap, source, conninfo, per_message=False
        )
        single = await raw_consume_into_postgres(
            infra.kafka_bootstrap, source, conninfo, per_message=True
        )
        service = records_on(database, own, source, sealed=True)
        consumer, projected = await consume_and_project(service, source, events, patience)
        service = records_on(fresh.database(), own_clear, in_clear, sealed=False)
        _, clear = await consume_and_project(service, in_clear, events, patience)
        clear.label = "consumer + projection, events in clear (no keys)"
    print()
    print(rate_table([raw, batched, single, consumer, projected, clear]))
    print(f"consumer / raw consume rate: {consumer.per_second / raw.per_second:.2g}")
    print(f"consumer + projection / raw consume rate: {projected.per_second / raw.per_second:.2g}")
    print(
        "consumer + projection / raw consume + INSERT (1 txn per batch) rate: "
        f"{projected.per_second / batched.per_second:.2g}"
    )
    print(
        "consumer + projection / raw consume + INSERT (1 txn per message) rate: "
        f"{projected.per_second / single.per_second:.2g}"
    )
    print(
        "encryption cost: consumer + projection sealed / in clear: "
        f"{projected.per_second / clear.per_second:.2f}"
    )
    headline(
        "consumer_projection",
        rate=projected.per_second,
        batched_ratio=projected.per_second / batched.per_second,
        sealed_vs_clear=projected.per_second / clear.per_second,
    )
    rate_plot(
        "consumer_projection",
        f"records consuming CitizenRegistered ({events:,} events)",
        [raw, batched, single, consumer, projected, clear],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument(
        "--patience",
        type=float,
        default=600.0,
        help="seconds to wait for records to catch up before giving up",
    )
    args = parser.parse_args()
    asyncio.run(main(args.events, args.patience))
