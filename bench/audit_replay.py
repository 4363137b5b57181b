"""Audit replay rate beside a raw aiokafka consume of the same topic, in the same run.

    uv run python bench/audit_replay.py --events 1000000

Generates a log of consent grants and record accesses on a fresh topic (hash-chained and
protected, as the relays publish them), then times (1) a raw consume of every message and
(2) `rse-audit replay` of the same topic into SQLite; and, to price the encryption, (3) the
replay of the same log in clear (as published before it). Prints the rates and ratios and
plots them (bench/out/audit_replay.png). The topics are deleted afterwards.
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
from common import Rate, headline, rate_plot, rate_table, raw_consume, scratch

from rse_audit.replay import replay
from rse_shared.chain import GENESIS, link
from rse_shared.contracts import ConsentGranted, RecordAccessed
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.keyring import Keyring, MemoryKeyring
from rse_shared.progress import Progress
from rse_shared.protection import protect
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


PROTECTED = {
    "ConsentGranted": ConsentGranted.protected_fields,
    "RecordAccessed": RecordAccessed.protected_fields,
}


async def generate(bootstrap: str, topic: str, events: int, keyring: Keyring | None) -> None:
    """`events` chained events on `topic`; with `keyring`, protected as the relays publish
    them (the replay opens none: it withholds protected values)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        **tool_options(ADMIN),
        max_batch_size=512 * 1024,
    )
    await producer.start()
    progress = Progress("generate" if keyring is None else "generate sealed", events)
    heads = {p: GENESIS for p in range(3)}
    try:
        pending = []
        for i in range(events):
            partition = i % 3
            plain = synthetic(i, str(uuid.UUID(int=1 + i % 5000)))
            if keyring is not None:
                plain = protect(plain, PROTECTED[str(plain["event_type"])], keyring)
            document = link(plain, heads[partition])
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


async def timed_replay(bootstrap: str, topic: str, events: int, label: str) -> Rate:
    with tempfile.TemporaryDirectory() as tmp:
        progress = Progress(label, events)
        started = time.perf_counter()
        replayed = await replay(bootstrap, [topic], Path(tmp) / "history.sqlite", progress=progress)
        seconds = time.perf_counter() - started
        progress.close()
    return Rate(label, replayed, seconds)


async def main(events: int) -> None:
    bootstrap = ServiceSettings().kafka_bootstrap
    async with scratch() as fresh:
        topic, in_clear = await fresh.topic("audit"), await fresh.topic("audit-clear")
        await generate(bootstrap, topic, events, MemoryKeyring())
        await generate(bootstrap, in_clear, events, None)
        started = time.perf_counter()
        raw = Rate("raw aiokafka consume", await raw_consume(bootstrap, topic), 0.0)
        raw.seconds = time.perf_counter() - started
        sealed = await timed_replay(bootstrap, topic, events, "rse-audit replay")
        clear = await timed_replay(bootstrap, in_clear, events, "replay, events in clear")
    rates = [raw, sealed, clear]
    print()
    print(rate_table(rates))
    print(f"replay / raw consume rate: {sealed.per_second / raw.per_second:.2f}")
    print(f"encryption cost: replay sealed / in clear: {sealed.per_second / clear.per_second:.2f}")
    headline(
        "audit_replay",
        rate=sealed.per_second,
        ratio=sealed.per_second / raw.per_second,
        sealed_vs_clear=sealed.per_second / clear.per_second,
    )
    rate_plot("audit_replay", f"audit replay vs raw consume ({events:,} events)", rates)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().events))
