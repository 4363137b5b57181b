"""What the fault tests share: a service in a process of its own, a command load, the log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, event

from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.eventstore import ServiceApplication, natural_id
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.relay import Translator
from rse_shared.settings import ServiceSettings
from tests.e2e.flows import nif_for

# The services run as processes by the suite publish and consume under these prefixes, so
# that each test's topics are its own (the auditor's test verifies them after the faults).
KILLED_PREFIX = "killed."
POISON_PREFIX = "poison."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """`rse-<name> serve` as operators run it, in its own process, that a test may SIGKILL."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "RSE_HTTP_PORT": str(self.port), "RSE_LOG_LEVEL": "WARNING"}
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, patience: float = 60.0) -> float:
        """Start it; returns the seconds it took to be ready."""
        began = time.monotonic()
        self.starts += 1
        log = (self.log_dir / f"{self.name}-{self.starts}.log").open("wb")
        executable = Path(sys.executable).parent / f"rse-{self.name}"
        self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [str(executable), "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + patience
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"rse-{self.name} exited; see {log.name}")
                try:
                    if (await http.get(f"{self.url}/health/ready")).status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"rse-{self.name} not ready after {patience}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, whatever was in flight is cut off."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def registration(seed: int | None = None) -> dict[str, Any]:
    """A valid, unique registration body."""
    seed = (uuid.uuid4().int if seed is None else seed) % 10**8
    return {
        "full_name": "Rui Costa",
        "date_of_birth": "1980-06-15",
        "nif": nif_for(seed),
        "sns_number": f"4{seed:08d}",
        "email": "rui@example.pt",
        "phone": "+351912000000",
        "address": "Rua C, Braga",
        "password": "a long enough secret",
    }


@dataclass
class Outcomes:
    """What the clients of a load were told: accepted ids, refusals, and no answer."""

    accepted: list[str] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    unanswered: int = 0


async def steady_load(
    send: Callable[[int], Any],
    *,
    rate: float,
    until: asyncio.Event,
) -> None:
    """Open-loop: start `send(i)` every 1/rate seconds until `until` is set, then wait for all."""
    tasks = []
    start = time.monotonic()
    i = 0
    while not until.is_set():
        tasks.append(asyncio.create_task(send(i)))
        i += 1
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
    await asyncio.gather(*tasks)


def relay_backlog(settings: ServiceSettings, service: str) -> int:
    """Events committed in the store that the relay has not yet had acknowledged."""
    with psycopg.connect(settings.postgres_conninfo()) as conn:
        last = conn.execute(
            f"SELECT coalesce(max(notification_id), 0) FROM {service}_events"
        ).fetchone()
        relayed = conn.execute(
            "SELECT coalesce(max(position), 0) FROM outbox_relay_position"
        ).fetchone()
    return int(last[0] if last else 0) - int(relayed[0] if relayed else 0)


def stored_integration_events(
    app: ServiceApplication,
    translate: Translator,
) -> list[IntegrationEvent]:
    """Every integration event the store's notification log translates to, in log order."""
    events: list[IntegrationEvent] = []
    start = 1
    while True:
        batch = app.recorder.select_notifications(start=start, limit=500)
        for notification in batch:
            event = translate(app.mapper.to_domain_event(notification), notification.id)
            if event is not None:
                events.append(event)
        if len(batch) < 500:
            return events
        start = batch[-1].id + 1


async def topic_documents(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every document on `topic`, up to its end offsets as of now, in partition order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(ADMIN)
    )
    await consumer.start()
    try:
        known = None
        for _ in range(10):
            await consumer._client.force_metadata_update()
            known = consumer.partitions_for_topic(topic)
            if known:
                break
            await asyncio.sleep(0.2)
        if not known:
            raise LookupError(f"no topic {topic}")
        partitions = [TopicPartition(topic, p) for p in sorted(known)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        documents: list[dict[str, Any]] = []
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                documents.extend(json.loads(r.value) for r in batch.get(tp, []))
        return documents
    finally:
        await consumer.stop()


class Ledger(Aggregate):
    """Every integration event applied for one citizen, in the order it was applied."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("ledger", str(citizen_id))

    @event("Opened")
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.applied: list[tuple[str, int]] = []

    @event("Applied")
    def apply(self, event_id: str, source_position: int) -> None:
        self.applied.append((event_id, source_position))


class LedgerApplication(ConsumerApplication):
    """A consumer that keeps, per citizen, the events it applied: exactly once, in order?"""

    name = "ledger"

    def handle(self, domain_event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        ledger = self.ledger(domain_event.citizen_id) or Ledger(domain_event.citizen_id)
        ledger.apply(str(domain_event.event_id), domain_event.source_position)
        processing_event.collect_events(ledger)

    def ledger(self, citizen_id: uuid.UUID) -> Ledger | None:
        try:
            ledger: Ledger = self.repository.get(Ledger.create_id(citizen_id))
        except AggregateNotFoundError:
            return None
        return ledger
