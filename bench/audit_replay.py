"""Audit replay rate beside a raw aiokafka consume of the same topic, in the same run.

    uv run python bench/audit_replay.py --events 1000000

Generates a log of consent grants and record accesses on a fresh topic (hash-chained, as
the relay publishes them), then times (1) a raw consume of every message and (2)
`rse-audit replay` of the same topic into SQLite, prints both rates and their ratio, and
plots them (bench/out/audit_replay.png). The topic is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from common import Rate, headline, rate_plot, raw_consume, scratch

from rse_audit.replay import replay
from rse_shared.chain import GENESIS, link
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.progress import Progress
from rse_shared.settings import ServiceSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic(i: int, citizen: str) -> dict[str, object]:
    at = (T0 + timedelta(seconds=i)).isoformat()
    base = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": at,
        "citizen_id": citizen,
        "schema_version": 1,
        "source_position": i + 1,
    }
    if i % 4 == 0:
        return {
            **base,
            "event_type": "ConsentGranted",
            "producer": "consent",
            "consent_id": str(uuid.uuid4()),
            "grantee_kind": "all_sns",
            "grantee_id": None,
            "categories": ["vaccinations"],
            "purpose": "treatment",
            "valid_from": at,
            "valid_until": None,
        }
    return {
        **base,
        "event_type": "RecordAccessed",
        "producer": "records",
        "access_id": str(uuid.uuid4()),
        "practitioner_id": f"P-{i % 97}",
        "role": "professional",
        "health_unit": "USF",
        "categories": ["vaccinations"],
        "purpose": "treatment",
        "emergency_reason": None,
        "decision": "permit",
        "consent_id": None,
        "accessed_at": at,
    }


async def generate(bootstrap: str, topic: str, events: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        **tool_options(ADMIN),
        max_batch_size=512 * 1024,
    )
    await producer.start()
    progress = Progress("generate", events)
    heads = {p: GENESIS for p in range(3)}
    try:
        pending = []
        for i in range(events):
            partition = i % 3
            document = link(synthetic(i, f"citizen-{i % 5000}"), heads[partition])
            heads[partition] = str(document["chain_hash"])
            pending.append(
                await producer.send(topic, json.dumps(document).encode(), partition=partition)
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
                progress.update(i + 1)
        await asyncio.gather(*pending)
    finally:
        progress.close()
        await producer.stop()


async def main(events: int) -> None:
    bootstrap = ServiceSettings().kafka_bootstrap
    async with scratch() as fresh:
        topic = await fresh.topic("audit")
        await generate(bootstrap, topic, events)
        started = time.perf_counter()
        raw = await raw_consume(bootstrap, topic)
        raw_seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            progress = Progress("replay", events)
            started = time.perf_counter()
            replayed = await replay(
                bootstrap, [topic], Path(tmp) / "history.sqlite", progress=progress
            )
            replay_seconds = time.perf_counter() - started
            progress.close()
    rows = [
        ("raw aiokafka consume", raw, raw_seconds),
        ("rse-audit replay", replayed, replay_seconds),
    ]
    print(f"\n{'what':<22} {'events':>10} {'seconds':>9} {'events/s':>10}")
    for name, count, seconds in rows:
        print(f"{name:<22} {count:>10} {seconds:>9.1f} {count / seconds:>10,.0f}")
    print(f"replay / raw consume rate: {(replayed / replay_seconds) / (raw / raw_seconds):.2f}")
    headline(
        "audit_replay",
        rate=replayed / replay_seconds,
        ratio=(replayed / replay_seconds) / (raw / raw_seconds),
    )
    rate_plot(
        "audit_replay",
        f"audit replay vs raw consume ({events:,} events)",
        [Rate(name, count, seconds) for name, count, seconds in rows],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().events))
