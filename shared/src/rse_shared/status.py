"""`rse-status`: each service's health, relay backlog, projection lag, consumer lag, DLQ and
delivery queue.

An operator's view of the running platform, read straight from PostgreSQL, MongoDB and
Kafka (and each service's /health/ready), printed as one table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql
from psycopg.rows import dict_row
from pymongo import AsyncMongoClient

from rse_shared.clock import utcnow
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.projection import CHECKPOINTS, FAILURES
from rse_shared.settings import ServiceSettings
from rse_shared.topics import SERVICES, consumer_pairs, dlq_parts

# records' read model of emergency accesses (rse_records.emergency_queue.EMERGENCIES).
EMERGENCIES = "emergencies"

PORTS = dict(zip(SERVICES, range(8001, 8001 + len(SERVICES)), strict=True))
"""Each service's HTTP port on a local deployment, in the topology's order (8001 ...)."""


QUEUE_VIEW = "delivery_queue_status"
"""The view a service that delivers to people (notifications) keeps in its database: one
row of QueueFigures' columns."""


@dataclass(frozen=True)
class QueueFigures:
    """A delivery queue: due or later and never tried, to be tried again, given up on."""

    pending: int
    retrying: int
    failed: int
    oldest_pending_seconds: float | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> QueueFigures:
        oldest = row["oldest_pending_seconds"]
        return cls(
            pending=int(row["pending"]),
            retrying=int(row["retrying"]),
            failed=int(row["failed"]),
            oldest_pending_seconds=None if oldest is None else float(oldest),
        )

    def __str__(self) -> str:
        oldest = self.oldest_pending_seconds
        age = "-" if oldest is None else f"{int(oldest)}s"
        return f"pending={self.pending} retrying={self.retrying} failed={self.failed} oldest={age}"


@dataclass
class ServiceStatus:
    """One row of the table."""

    name: str
    health: str = "down"
    events: int | None = None
    relay_backlog: int | None = None
    projection_lag: dict[str, int] = field(default_factory=dict)
    projection_failures: int | None = None
    consumer_lag: int | None = None
    dlq: int = 0
    queue: QueueFigures | None = None


async def health(host: str, port: int) -> str:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            response = await client.get(f"http://{host}:{port}/health/ready")
    except httpx.HTTPError:
        return "down"
    return "ready" if response.status_code == 200 else "not ready"


async def event_store(settings: ServiceSettings, name: str) -> tuple[int | None, int | None]:
    """(last notification id, relay backlog) from the service's own database."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            settings.postgres_conninfo(), connect_timeout=3
        )
    except psycopg.Error:
        return None, None
    async with conn:
        try:
            cur = await conn.execute(
                sql.SQL("SELECT max(notification_id) FROM {}").format(
                    sql.Identifier(f"{name}_events")
                )
            )
            row = await cur.fetchone()
            last = int(row[0] or 0) if row else 0
        except psycopg.Error:
            return None, None
        try:
            cur = await conn.execute("SELECT max(position) FROM outbox_relay_position")
            row = await cur.fetchone()
            relayed = int(row[0] or 0) if row else 0
        except psycopg.Error:
            relayed = 0
    return last, last - relayed


async def delivery_queue(settings: ServiceSettings) -> QueueFigures | None:
    """The service's delivery queue, if it keeps one (None: none, or unreachable)."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            settings.postgres_conninfo(), connect_timeout=3, row_factory=dict_row
        )
    except psycopg.Error:
        return None
    async with conn:
        try:
            cur = await conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(QUEUE_VIEW)))
            row = await cur.fetchone()
        except psycopg.Error:  # a service without a queue has no such view
            return None
    return QueueFigures.of(row) if row else None


async def projection_lag(
    settings: ServiceSettings,
    last: int | None,
) -> tuple[dict[str, int], int | None]:
    """(lag per projection, events set aside by the projections)."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        settings.mongo_url, serverSelectionTimeoutMS=3000
    )
    try:
        db = client[settings.mongo_db]
        docs = await db[CHECKPOINTS].find().to_list()
        failures = await db[FAILURES].count_documents({})
    except Exception:  # noqa: BLE001 - shown as an empty cell, the health column says why
        return {}, None
    finally:
        await client.close()
    return {str(d["_id"]): (last or 0) - int(d["position"]) for d in docs}, failures


async def _group_lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, consumed: set[str]
) -> int | None:
    """Messages of the group's consumed topics that it has not committed yet."""
    committed = {
        tp: meta
        for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
        if tp.topic in consumed
    }
    if not committed:
        return None
    ends = await consumer.end_offsets(list(committed))
    return sum(max(int(ends[tp]) - int(meta.offset), 0) for tp, meta in committed.items())


async def _letters(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, letters: list[str]
) -> int:
    """Messages on the dead-letter topics, over every partition (the consumer may not know
    them yet)."""
    partitions = [
        TopicPartition(d["topic"], p["partition"])
        for d in await admin.describe_topics(letters)
        for p in d["partitions"]
    ]
    ends = await consumer.end_offsets(partitions)
    return sum(ends.values())


def dead_letter_topics(group: str, existing: set[str]) -> list[str]:
    """The group's dead-letter topics among `existing`, under any deployment prefix.

    A group is its deployment's own (another copy of a service needs a group of its own),
    so `<group>.[<prefix>]<topic>.dlq` is this group's whatever the prefix: an operator who
    runs the status without the deployment's RSE_TOPIC_PREFIX still sees its dead letters.
    """
    consumed = {t for g, t in consumer_pairs() if g == group}
    found = []
    for name in existing:
        inner = dlq_parts(name, group) or ""
        if any(inner == t or inner.endswith("." + t) for t in consumed):
            found.append(name)
    return sorted(found)


async def kafka_figures(
    bootstrap: str,
    prefix: str = "",
) -> tuple[dict[str, int], dict[str, int]]:
    """(consumer lag per group, DLQ message count per group), for the topology's consumers."""
    # An operator's tool: the admin principal (it reads every group's offsets).
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, **tool_options(ADMIN)
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    await consumer.start()
    try:
        existing = set(await admin.list_topics())
        lag: dict[str, int] = {}
        dlq: dict[str, int] = {}
        for group in sorted({g for g, _ in consumer_pairs()}):
            consumed = {prefix + t for g, t in consumer_pairs() if g == group}
            with contextlib.suppress(Exception):
                group_lag = await _group_lag(admin, consumer, group, consumed)
                if group_lag is not None:
                    lag[group] = group_lag
            letters = dead_letter_topics(group, existing)
            if letters:
                dlq[group] = await _letters(admin, consumer, letters)
        return lag, dlq
    finally:
        await consumer.stop()
        await admin.close()


@dataclass(frozen=True)
class ReviewBacklog:
    """Emergency (break-the-glass) accesses no auditor has reviewed yet, and the oldest's age."""

    unreviewed: int
    oldest: datetime | None

    def line(self, now: datetime) -> str:
        if self.oldest is None:
            return f"emergency accesses awaiting review: {self.unreviewed}"
        age = now - self.oldest
        hours, rest = divmod(int(age.total_seconds()), 3600)
        return (
            f"emergency accesses awaiting review: {self.unreviewed}"
            f" (oldest {hours}h{rest // 60:02d}m ago, {self.oldest:%Y-%m-%d %H:%M} UTC)"
        )


async def review_backlog(
    base: ServiceSettings, database: str = "rse_records"
) -> ReviewBacklog | None:
    """records' queue of emergency accesses (its `emergencies` read model); None if unread."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        base.mongo_url, tz_aware=True, serverSelectionTimeoutMS=3000
    )
    try:
        queue = client[database][EMERGENCIES]
        unreviewed = {"status": "unreviewed"}
        count = await queue.count_documents(unreviewed)
        oldest = await queue.find(unreviewed).sort("accessed_at", 1).limit(1).to_list()
    except Exception:  # noqa: BLE001 - an operator's view: shown as unknown, not a crash
        return None
    finally:
        await client.close()
    return ReviewBacklog(count, oldest[0]["accessed_at"] if oldest else None)


async def collect(base: ServiceSettings) -> list[ServiceStatus]:
    rows = []
    lag, dlq = await kafka_figures(base.kafka_bootstrap, base.topic_prefix)
    for name, port in PORTS.items():
        settings = base.model_copy(update={"postgres_db": f"rse_{name}", "mongo_db": f"rse_{name}"})
        row = ServiceStatus(name, health=await health(base.http_host, port))
        row.events, row.relay_backlog = await event_store(settings, name)
        row.projection_lag, row.projection_failures = await projection_lag(settings, row.events)
        row.consumer_lag = lag.get(name)
        row.dlq = dlq.get(name, 0)
        row.queue = await delivery_queue(settings)
        rows.append(row)
    return rows


def render(rows: list[ServiceStatus]) -> str:
    def cell(value: object) -> str:
        return "-" if value is None else str(value)

    header = (
        "SERVICE",
        "HEALTH",
        "EVENTS",
        "RELAY BACKLOG",
        "PROJECTION LAG",
        "SET ASIDE",
        "CONSUMER LAG",
        "DLQ",
        "DELIVERY QUEUE",
    )
    lines = [header]
    for r in rows:
        projections = ", ".join(f"{k}={v}" for k, v in sorted(r.projection_lag.items())) or "-"
        lines.append(
            (
                r.name,
                r.health,
                cell(r.events),
                cell(r.relay_backlog),
                projections,
                cell(r.projection_failures),
                cell(r.consumer_lag),
                str(r.dlq),
                cell(r.queue),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="rse-status", description=__doc__).parse_args(argv)
    settings = ServiceSettings()
    rows = asyncio.run(collect(settings))
    print(render(rows))
    backlog = asyncio.run(review_backlog(settings))
    print(backlog.line(utcnow()) if backlog else "emergency accesses awaiting review: -")
    return 0 if all(r.health == "ready" for r in rows) else 1
