"""Outbox relay publish rate beside a raw aiokafka produce of the same payloads, same run.

    uv run python bench/relay_publish.py --events 20000

Commits `--events` citizen registrations to identity's event store on a fresh database
(the outbox: each event and its notification in one transaction, 500 per transaction so
the set-up is quick), then times identity's OutboxRelay following the log as in
production (`OutboxRelay.follow`) until it has drained them to a fresh topic: read a batch
of notifications, map each to its CitizenRegistered contract, link it into its partition's
hash chain, produce with acks=all (idempotent), and, while the next batches are read and
sent, wait for each batch's acks and record its position. The baseline produces the very
messages the relay published (same keys, partitions, headers and bytes) to another fresh
topic with a bare aiokafka producer of the same settings (`relay.PRODUCER_SETTINGS`),
batch by batch with the same number of batches awaiting their acks.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque
from datetime import date

from aiokafka import AIOKafkaProducer
from common import Rate, Scratch, clear_env, headline, rate_plot, rate_table, scratch

from rse_identity.application import IdentityApplication
from rse_identity.domain.citizen import Citizen
from rse_identity.published import to_integration_event
from rse_shared.kafka import ADMIN, client_options, tool_options
from rse_shared.progress import Progress
from rse_shared.relay import PRODUCER_SETTINGS, WINDOWS, OutboxRelay
from rse_shared.testing import read_topic

SEED_BATCH = 500


def commit(app: IdentityApplication, events: int) -> None:
    """`events` citizens registered (no accounts: only the published events matter)."""
    progress = Progress("commit", events)
    for start in range(0, events, SEED_BATCH):
        app.save(
            *[
                Citizen.register(
                    f"3{i:08d}",
                    "123456789",
                    "Maria Santos",
                    date(1975, 3, 2),
                    "maria@example.pt",
                    "+351913000000",
                    "Rua B, Porto",
                )
                for i in range(start, min(start + SEED_BATCH, events))
            ]
        )
        progress.update(min(start + SEED_BATCH, events))
    progress.close()


async def drain(relay: OutboxRelay, events: int) -> Rate:
    """Time the relay following the log until everything committed is acknowledged."""
    await relay.start()
    last = relay.app.recorder.max_notification_id() or 0
    progress = Progress("relay", last)
    rate = Rate("outbox relay", 0, 0.0)
    stop = asyncio.Event()
    started = time.perf_counter()
    following = asyncio.create_task(relay.follow(stop))
    try:
        while relay.position < last and not following.done():
            await asyncio.sleep(0.02)
            rate.timeline.append((time.perf_counter() - started, relay.position))
            progress.update(relay.position)
        rate.seconds = time.perf_counter() - started
        rate.count = events
    finally:
        stop.set()
        await following
        progress.close()
        await relay.stop()
    return rate


async def raw_produce(bootstrap: str, topic: str, records: list, batch: int, windows: int) -> Rate:
    """The same messages, same producer settings, batches awaiting acks as the relay's do."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **PRODUCER_SETTINGS, **tool_options(ADMIN)
    )
    await producer.start()
    rate = Rate("raw aiokafka produce", 0, 0.0)
    pending: deque[list] = deque()
    started = time.perf_counter()
    try:
        for start in range(0, len(records), batch):
            pending.append(
                [
                    await producer.send(
                        topic,
                        value=r.value,
                        key=r.key,
                        partition=r.partition,
                        headers=list(r.headers),
                    )
                    for r in records[start : start + batch]
                ]
            )
            while len(pending) > windows or (pending and start + batch >= len(records)):
                acks = pending.popleft()
                await asyncio.gather(*acks)
                rate.count += len(acks)
                rate.timeline.append((time.perf_counter() - started, rate.count))
        rate.seconds = time.perf_counter() - started
    finally:
        await producer.stop()
    return rate


async def relay_run(fresh: Scratch, events: int, *, sealed: bool) -> tuple[Rate, str, int]:
    """Commit `events` registrations and time the relay draining them to a fresh topic; the
    rate, the topic and the relay's batch size. `sealed=False`: no keys (events in clear)."""
    topic = await fresh.topic("relay" if sealed else "relay-clear")
    settings = fresh.settings(fresh.database())
    env = settings.eventstore_env() if sealed else clear_env(settings)
    app = IdentityApplication(env=env)
    try:
        await asyncio.to_thread(commit, app, events)
        relay = OutboxRelay(
            app,
            to_integration_event,
            topic=topic,
            bootstrap=settings.kafka_bootstrap,
            conninfo=settings.postgres_conninfo(),
            producer="identity",
            kafka=client_options(settings),
        )
        rate = await drain(relay, events)
    finally:
        app.close()
    if not sealed:
        rate.label = "outbox relay, events in clear (no keys)"
    return rate, topic, relay.batch_size


async def main(events: int) -> None:
    async with scratch() as fresh:
        raw_topic = await fresh.topic("raw")
        bootstrap = fresh.infra.kafka_bootstrap
        ours, relay_topic, batch = await relay_run(fresh, events, sealed=True)
        clear, _, _ = await relay_run(fresh, events, sealed=False)
        published = await read_topic(bootstrap, relay_topic, timeout=120, expect=events)
        raw = await raw_produce(bootstrap, raw_topic, published, batch, WINDOWS)
    print()
    print(rate_table([raw, ours, clear]))
    print(f"relay / raw produce rate: {ours.per_second / raw.per_second:.2f}")
    print(f"encryption cost: relay sealed / in clear: {ours.per_second / clear.per_second:.2f}")
    headline(
        "relay_publish",
        ratio=ours.per_second / raw.per_second,
        sealed_vs_clear=ours.per_second / clear.per_second,
    )
    rate_plot(
        "relay_publish", f"relay publish vs raw produce ({events:,} events)", [raw, ours, clear]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    asyncio.run(main(parser.parse_args().events))
