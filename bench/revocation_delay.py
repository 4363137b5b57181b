"""Revocation delay: from "revoke accepted" (the produce acked) to "read denied".

    uv run python bench/revocation_delay.py --trials 20

Runs the records service in a process of its own on the real servers (a fresh database,
MongoDB database and topics), with its API, relay, projectors and consumer, and drives it
over HTTP from this process, as clients would. The consent service is
simulated: ConsentGranted / ConsentRevoked contract messages are produced straight onto a
fresh consent topic (acks=all), as consent's relay would. A steady load of professional
reads runs throughout. Each trial grants a consent for a new citizen, waits until reads
are permitted, revokes, and times the delay from the revocation's ack to the first 403.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from common import (
    ServiceSpec,
    free_port,
    headline,
    infra_settings,
    latency_plot,
    percentile,
    scratch,
    service_process,
)

from rse_shared.chain import GENESIS, link, partition_for
from rse_shared.contracts import ConsentGranted, ConsentRevoked, IntegrationEvent
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.testing import TokenMint, a_registration, eventually

PRACTITIONER, HEALTH_UNIT = "P-BENCH", "USF Bench"


@dataclass
class Trial:
    """The citizen under test and what the readers saw of them."""

    citizen_id: uuid.UUID
    permitted: asyncio.Event = field(default_factory=asyncio.Event)
    denied: asyncio.Event = field(default_factory=asyncio.Event)
    revoked_at: float | None = None
    denied_at: float | None = None


@dataclass
class Load:
    """The steady stream of professional reads, all aimed at the current trial's citizen."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    trial: Trial | None = None
    reads: int = 0
    failures: int = 0

    async def reader(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            trial = self.trial
            if trial is None:
                await asyncio.sleep(0.01)
                continue
            response = await self.client.get(
                f"/records/{trial.citizen_id}/vaccinations", headers=self.headers
            )
            self.reads += 1
            self.observe(trial, response.status_code, time.perf_counter())

    def observe(self, trial: Trial, status: int, now: float) -> None:
        if status == 200:
            trial.permitted.set()
        elif status == 403 and trial.revoked_at is not None and trial.denied_at is None:
            trial.denied_at = now
            trial.denied.set()
        elif status not in (200, 403):
            self.failures += 1


_heads: dict[tuple[str, int], str] = {}


async def send_chained(producer: AIOKafkaProducer, topic: str, event: IntegrationEvent) -> None:
    """Send `event` linked into its partition's hash chain, as the owner's relay would
    (consumers refuse what does not extend the chain)."""
    key = str(event.citizen_id).encode()
    partition = partition_for(key, len(await producer.partitions_for(topic)))
    document = link(event.to_wire(), _heads.get((topic, partition), GENESIS))
    _heads[(topic, partition)] = document["chain_hash"]
    await producer.send_and_wait(topic, json.dumps(document).encode(), key=key, partition=partition)


class Consent:
    """Plays the consent service: contract messages on its topic, acks=all, keyed by citizen."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    async def tell(self, event: IntegrationEvent) -> None:
        await send_chained(self.producer, self.topic, event)

    async def grant(self, citizen_id: uuid.UUID) -> uuid.UUID:
        consent_id = uuid.uuid4()
        now = datetime.now(UTC)
        await self.tell(
            ConsentGranted(
                **envelope(citizen_id, 1),
                consent_id=consent_id,
                grantee_kind="professional",
                grantee_id=PRACTITIONER,
                categories=("vaccinations",),
                purpose="treatment",
                valid_from=now - timedelta(minutes=1),
                valid_until=None,
            )
        )
        return consent_id

    async def revoke(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> None:
        await self.tell(
            ConsentRevoked(
                **envelope(citizen_id, 2), consent_id=consent_id, revoked_at=datetime.now(UTC)
            )
        )


def envelope(citizen_id: uuid.UUID, position: int) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "producer": "consent",
        "citizen_id": citizen_id,
        "source_position": position,
    }


async def run_trial(load: Load, consent: Consent, citizen_id: uuid.UUID, patience: float) -> float:
    """Seconds from the revocation's ack to the first denied read of `citizen_id`."""
    trial = Trial(citizen_id)
    load.trial = trial
    consent_id = await consent.grant(citizen_id)
    await asyncio.wait_for(trial.permitted.wait(), patience)
    # A random pause, so the revocation does not land in step with any polling loop.
    await asyncio.sleep(random.uniform(0.05, 0.25))
    await consent.revoke(citizen_id, consent_id)
    trial.revoked_at = time.perf_counter()
    await asyncio.wait_for(trial.denied.wait(), patience)
    assert trial.denied_at is not None
    return trial.denied_at - trial.revoked_at


@contextlib.asynccontextmanager
async def records_process(mint: TokenMint) -> AsyncIterator[ServiceSpec]:
    """Records in a process of its own, on a fresh database and topics; all removed after."""
    async with scratch() as fresh:
        topics = {n: await fresh.topic(n) for n in ("identity", "consent", "records")}
        spec = ServiceSpec(
            "records",
            fresh.database(),
            free_port(),
            topics["records"],
            consumes=[topics["identity"], topics["consent"]],
            jwks=mint.jwks,
        )
        async with service_process(spec):
            yield spec


async def register(
    client: httpx.AsyncClient, mint: TokenMint, producer: AIOKafkaProducer, topic: str, count: int
) -> list[uuid.UUID]:
    """`count` citizens registered by identity, once records shows each their record."""
    registrations = [a_registration() for _ in range(count)]
    for event in registrations:
        await send_chained(producer, topic, event)
    citizens = [event.citizen_id for event in registrations]

    async def all_open() -> bool:
        answers = [await client.get(f"/records/{c}", headers=mint.citizen(c)) for c in citizens]
        return all(a.status_code == 200 for a in answers)

    await eventually(all_open, timeout=60, every=0.2)
    return citizens


def report(delays: list[float], readers: int, reads: int, failures: int, elapsed: float) -> str:
    ms = [d * 1000 for d in delays]
    rows = [
        ("trials", f"{len(ms)}"),
        ("readers", f"{readers}"),
        ("reads/s", f"{reads / elapsed:.0f}"),
        ("read errors", f"{failures}"),
        ("min ms", f"{min(ms):.1f}"),
        ("p50 ms", f"{percentile(ms, 50):.1f}"),
        ("p90 ms", f"{percentile(ms, 90):.1f}"),
        ("p99 ms", f"{percentile(ms, 99):.1f}"),
        ("max ms", f"{max(ms):.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["revocation accepted (produce acked) -> read denied", f"{'':-<{width}}  {'':-<10}"]
    lines += [f"{name:<{width}}  {value:>10}" for name, value in rows]
    return "\n".join(lines)


async def main(trials: int, readers: int, patience: float) -> None:
    infra = infra_settings()
    mint = TokenMint(infra)
    async with records_process(mint) as spec:
        producer = AIOKafkaProducer(
            bootstrap_servers=infra.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            **tool_options(ADMIN),
        )
        await producer.start()
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=readers + 2)
        async with httpx.AsyncClient(base_url=spec.url, limits=limits, timeout=patience) as client:
            load = Load(client, mint.professional(PRACTITIONER, HEALTH_UNIT))
            tasks = [asyncio.create_task(load.reader(stop)) for _ in range(readers)]
            try:
                citizens = await register(client, mint, producer, spec.consumes[0], trials)
                consent = Consent(producer, spec.consumes[1])
                started, delays = time.perf_counter(), []
                for n, citizen_id in enumerate(citizens, 1):
                    delays.append(await run_trial(load, consent, citizen_id, patience))
                    print(f"trial {n:>3}: {delays[-1] * 1000:7.1f} ms", file=sys.stderr, flush=True)
                elapsed = time.perf_counter() - started
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                await producer.stop()
        print(report(delays, readers, load.reads, load.failures, elapsed))
        headline("revocation_delay", p99_ms=percentile([d * 1000 for d in delays], 99))
        latency_plot(
            "revocation_delay",
            f"revocation accepted -> read denied ({trials} trials)",
            {"revoke acked -> first 403": [d * 1000 for d in delays]},
        )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--readers", type=int, default=4, help="concurrent readers")
    parser.add_argument(
        "--patience",
        type=float,
        default=30.0,
        help="seconds to wait for a permit or a denial before giving up",
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    asyncio.run(main(args.trials, args.readers, args.patience))
