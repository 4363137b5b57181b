"""Command -> another service's projection: registration at identity -> records shows the record.

    uv run python bench/projection_latency.py --rate 20 --duration 50

Runs identity and records as processes of their own on the real servers (fresh databases,
MongoDB databases and topics), with their default relay and projector poll intervals.
Citizens are registered by POSTing to identity at a steady rate (open loop: a request
leaves every 1/rate seconds whether or not earlier ones were answered); each latency runs
from the moment its request was due to the moment records' read model in MongoDB holds
that citizen's record (polled every 5 ms). Path: identity's event store -> its relay ->
Kafka -> records' idempotent consumer -> records' event store -> records' projector ->
MongoDB. Identity hashes passwords with a cheap argon2 setting here: the hash is a
deliberate cost of registration and not what is measured.

Baseline, same run, same rate and count: a raw aiokafka round trip, produced with acks=all
(idempotent) and consumed by a bare consumer in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from common import (
    ServiceSpec,
    free_port,
    infra_settings,
    latency_plot,
    open_loop,
    percentile,
    registration,
    scratch,
    service_process,
    table,
)
from load import Arrivals, Series
from pymongo import AsyncMongoClient

from rse_shared.kafka import ADMIN, tool_options

POLL = 0.005


class Watcher:
    """Polls records' read model (see `load.Arrivals`) for each awaited record."""

    def __init__(self, collection: Any) -> None:
        self.series = Series("POST -> records projection shows it")
        self.arrivals = Arrivals(collection, self.series)
        self.latencies = self.series.latencies

    def expect(self, citizen_id: str, due: float) -> None:
        self.arrivals.expect(citizen_id, due)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or self.arrivals.awaited:
            await self.arrivals.poll()
            await asyncio.sleep(POLL)
        await self.arrivals.close()


async def platform_latencies(
    rate: float, count: int, identity: ServiceSpec, records_db: str
) -> tuple[list[float], list[float], int]:
    """(command -> records projection latencies, POST response times, failed POSTs)."""
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(infra_settings().mongo_url)
    watcher = Watcher(mongo[records_db].records)
    stop = asyncio.Event()
    watching = asyncio.create_task(watcher.run(stop))
    responses: list[float] = []
    failures = 0
    run = int(time.time()) % 1000
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=identity.url, limits=limits, timeout=60) as client:

        async def register(i: int, due: float) -> None:
            nonlocal failures
            answer = await client.post("/citizens", json=registration(i, run))
            responses.append(time.perf_counter() - due)
            if answer.status_code != 201:
                failures += 1
                return
            # Citizen ids are random: awaited from the answer on (a record projected before
            # it is found at the watcher's next poll, still timed from `due`).
            watcher.expect(str(answer.json()["citizen_id"]), due)

        try:
            await open_loop("commands", rate, count, register)
        finally:
            stop.set()  # the watcher returns once every awaited record was seen
            await asyncio.wait_for(watching, 120)
            await mongo.close()
    return watcher.latencies, responses, failures


async def kafka_round_trips(bootstrap: str, topic: str, rate: float, count: int) -> list[float]:
    """Produce (acks=all) -> consume latencies of `count` messages sent at `rate`."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        **tool_options(ADMIN),
        linger_ms=2,
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, fetch_max_wait_ms=100, **tool_options(ADMIN)
    )
    await producer.start()
    await consumer.start()
    due: dict[int, float] = {}
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < count:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            latencies.extend(now - due.pop(int(r.value)) for rs in batch.values() for r in rs)

    try:
        # The topic is fresh: read it from its start, so nothing sent can be missed.
        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)

        async def send(i: int, at: float) -> None:
            due[i] = at
            await producer.send_and_wait(topic, str(i).encode(), key=str(i).encode())

        receiving = asyncio.create_task(receive())
        await open_loop("raw kafka", rate, count, send)
        await asyncio.wait_for(receiving, 60)
    finally:
        await consumer.stop()
        await producer.stop()
    return latencies


def summary(label: str, seconds: list[float]) -> tuple[object, ...]:
    ms = [s * 1000 for s in seconds]
    return (label, len(ms), *(percentile(ms, p) for p in (50, 90, 99, 99.9)), max(ms))


async def main(rate: float, duration: float) -> None:
    count = int(rate * duration)
    infra = infra_settings()
    async with scratch() as fresh:
        topics = {n: await fresh.topic(n) for n in ("identity", "records", "raw")}
        identity = ServiceSpec(
            "identity", fresh.database(), free_port(), topics["identity"], fast_hash=True
        )
        records = ServiceSpec(
            "records",
            fresh.database(),
            free_port(),
            topics["records"],
            consumes=[topics["identity"]],
            jwks_url=f"{identity.url}/.well-known/jwks.json",
        )
        async with service_process(identity), service_process(records):
            await platform_latencies(rate, 10, identity, records.database)  # warm up
            raw = await kafka_round_trips(infra.kafka_bootstrap, topics["raw"], rate, count)
            ours, responses, failures = await platform_latencies(
                rate, count, identity, records.database
            )
    rows = [
        summary("raw aiokafka produce -> consume", raw),
        summary("POST /citizens answered (identity)", responses),
        summary("POST -> records projection shows it", ours),
    ]
    print(f"\nopen loop at {rate:g} commands/s for {duration:g} s; {failures} failed commands")
    print(table(("latency, ms", "samples", "p50", "p90", "p99", "p99.9", "max"), rows))
    print(
        "ratio projection / raw round trip: "
        + ", ".join(
            f"p{p:g} {percentile(ours, p) / percentile(raw, p):.1f}x" for p in (50, 99, 99.9)
        )
    )
    latency_plot(
        "projection_latency",
        f"command -> records projection at {rate:g}/s ({len(ours)} samples)",
        {
            "raw aiokafka round trip": [s * 1000 for s in raw],
            "identity POST -> records projection": [s * 1000 for s in ours],
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="commands per second")
    parser.add_argument("--duration", type=float, default=50.0, help="seconds of load")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.duration))
