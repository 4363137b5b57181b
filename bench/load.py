"""What the load benchmarks (mixed_load, scale_out) share beyond bench/common.py.

Every Kafka client of these benchmarks is built here, from `kafka_options()`: when the
broker moves to SASL_SSL, that function is the one line to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from common import infra_settings, open_loop, percentile
from psycopg import sql

from rse_shared.kafka import ADMIN, tool_options
from rse_shared.progress import Progress


def kafka_options() -> dict[str, Any]:
    """Connection options every Kafka client here is built with: bootstrap and the admin's
    SASL_SSL credentials (scratch topics and groups are outside the topology's ACLs)."""
    return {"bootstrap_servers": infra_settings().kafka_bootstrap, **tool_options(ADMIN)}


def producer(**options: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**kafka_options(), **options)


def consumer(**options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(**kafka_options(), **options)


def admin() -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**kafka_options())


def say(*parts: object) -> None:
    """Progress and notes go to stderr: stdout holds only the tables."""
    print(*parts, file=sys.stderr, flush=True)


# --- latencies ----------------------------------------------------------------------------


@dataclass
class Series:
    """One measured path: latencies in seconds, failed commands, ones never seen to arrive."""

    label: str
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    skipped: int = 0
    unfinished: int = 0

    def row(self) -> tuple[object, ...]:
        ms = [s * 1000 for s in self.latencies]
        if not ms:
            return (self.label, 0, "-", "-", "-", "-", self.failed, self.skipped, self.unfinished)
        return (
            self.label,
            len(ms),
            *(percentile(ms, p) for p in (50, 99, 99.9)),
            max(ms),
            self.failed,
            self.skipped,
            self.unfinished,
        )


LATENCY_HEADERS = (
    "path, ms",
    "samples",
    "p50",
    "p99",
    "p99.9",
    "max",
    "failed",
    "skipped",
    "unfinished",
)


class BackingTable:
    """The PostgreSQL table FerretDB keeps one collection in, queried with SQL.

    The benchmarks look for documents here rather than through FerretDB: FerretDB 1.x
    decodes the whole collection in Go for an `$in` or a count (about 50 us per document),
    so polling through it every few ms would spend the cores the platform under test
    needs. A document is in the read model from the moment its row is committed, which is
    what this sees.
    """

    def __init__(self, collection: Any) -> None:
        self.schema, self.collection = collection.database.name, collection.name
        self.table: str | None = None
        self.conn: psycopg.AsyncConnection[Any] | None = None

    async def _name(self) -> str | None:
        if self.conn is None:
            conninfo = infra_settings().model_copy(update={"postgres_db": "ferretdb"})
            self.conn = await psycopg.AsyncConnection.connect(
                conninfo.postgres_conninfo(), autocommit=True
            )
        if self.table is None:
            query = sql.SQL(
                "SELECT _jsonb->>'table' FROM {}._ferretdb_database_metadata "
                "WHERE _jsonb->>'_id' = %s"
            ).format(sql.Identifier(self.schema))
            with contextlib.suppress(psycopg.errors.UndefinedTable):
                row = await (await self.conn.execute(query, (self.collection,))).fetchone()
                self.table = row[0] if row else None
        return self.table

    async def find(self, key: str, field: str, values: Sequence[Any]) -> list[Any]:
        """The `key` of each document whose `field` is one of `values` (an indexed lookup
        where the collection has an index on `field`)."""
        if not values or (table := await self._name()) is None:
            return []
        assert self.conn is not None
        query = sql.SQL("SELECT _jsonb->>{} FROM {}.{} WHERE _jsonb->{} = ANY(%s::jsonb[])").format(
            sql.Literal(key), sql.Identifier(self.schema), sql.Identifier(table), sql.Literal(field)
        )
        rows = await (await self.conn.execute(query, ([json.dumps(v) for v in values],))).fetchall()
        return [found for (found,) in rows]

    async def count(self) -> int:
        if (table := await self._name()) is None:
            return 0
        assert self.conn is not None
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(self.schema), sql.Identifier(table)
        )
        row = await (await self.conn.execute(query)).fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
            self.conn = None


class Arrivals:
    """Stamps when each awaited document appears in one read-model collection.

    `awaited` maps the value of `key` (in documents matching `{scope: ...}`) to the moment
    its command was due; a found document's latency goes to `path`. Looked for in the
    collection's `BackingTable`, one query per poll.
    """

    def __init__(
        self, collection: Any, path: Series, key: str = "_id", scope: str | None = None
    ) -> None:
        self.table = BackingTable(collection)
        self.path, self.key, self.scope = path, key, scope
        self.awaited: dict[str, float] = {}
        self.scopes: dict[str, str] = {}  # awaited key -> the scope value to look under

    def expect(self, value: str, due: float, scope: str | None = None) -> None:
        self.awaited[value] = due
        if scope is not None:
            self.scopes[value] = scope

    async def poll(self) -> None:
        if not self.awaited:
            return
        keys = list(self.awaited)
        values = sorted({self.scopes[k] for k in keys}) if self.scope else keys
        found = await self.table.find(self.key, self.scope or self.key, values)
        now = time.perf_counter()
        for key in found:
            due = self.awaited.pop(str(key), None)
            if due is not None:
                self.scopes.pop(str(key), None)
                self.path.latencies.append(now - due)

    def give_up(self) -> None:
        self.path.unfinished += len(self.awaited)
        self.awaited.clear()

    async def close(self) -> None:
        await self.table.close()


async def watch(watchers: Sequence[Any], every: float, stop: asyncio.Event, drain: float) -> None:
    """Poll every watcher each `every` s until `stop`, then at most `drain` s more."""
    deadline: float | None = None
    while True:
        if stop.is_set() and deadline is None:
            deadline = time.perf_counter() + drain
        if deadline is not None and (
            time.perf_counter() > deadline or not any(w.awaited for w in watchers)
        ):
            break
        for watcher in watchers:
            await watcher.poll()
        await asyncio.sleep(every)
    for watcher in watchers:
        watcher.give_up()


@dataclass
class Sent:
    """How an open loop went: commands started, shed (too many in flight), cut off."""

    started: int = 0
    shed: int = 0
    not_sent: int = 0
    timed_out: int = 0


async def bounded_open_loop(
    label: str,
    rate: float,
    count: int,
    fire: Callable[[int, float], Awaitable[None]],
    *,
    cap: int,
    slack: float,
    grace: float,
) -> Sent:
    """`fire(i, due)` every 1/rate s, as bench/common.py's open_loop, but bounded.

    A command is shed while `cap` are in flight; none starts after the load's duration plus
    `slack` s; commands still running `grace` s after the last start are cancelled. A
    collapsing platform thus cannot stretch the run.
    """
    sent, tasks = Sent(), set[asyncio.Task[None]]()
    progress = Progress(label, count)
    began = time.perf_counter()
    until = began + count / rate + slack
    for i in range(count):
        due = began + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if time.perf_counter() > until:
            sent.not_sent = count - i
            break
        if len(tasks) >= cap:
            sent.shed += 1
            continue
        task = asyncio.create_task(fire(i, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent.started += 1
        progress.update(i + 1)
    progress.close()
    if tasks:
        _, late = await asyncio.wait(set(tasks), timeout=grace)
        for task in late:
            task.cancel()
        sent.timed_out = len(late)
    return sent


# --- consumer lag and CPU -----------------------------------------------------------------


class LagSampler:
    """Samples each consumer group's lag (end offset - committed offset, summed)."""

    def __init__(self, groups: dict[str, tuple[str, list[str]]], partitions: int = 3) -> None:
        self.groups = groups  # label -> (group id, topics)
        self.partitions = partitions
        self.peak: dict[str, int] = dict.fromkeys(groups, 0)
        self.timeline: list[tuple[float, dict[str, int]]] = []

    async def run(self, stop: asyncio.Event, every: float = 1.0) -> None:
        client, ends = admin(), consumer(enable_auto_commit=False)
        await client.start()
        await ends.start()
        started = time.perf_counter()
        try:
            while not stop.is_set():
                lags = {
                    label: await self.lag(client, ends, group, topics)
                    for label, (group, topics) in self.groups.items()
                }
                self.timeline.append((time.perf_counter() - started, lags))
                for label, lag in lags.items():
                    self.peak[label] = max(self.peak[label], lag)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)
        finally:
            await ends.stop()
            await client.close()

    async def lag(
        self, client: AIOKafkaAdminClient, ends: AIOKafkaConsumer, group: str, topics: list[str]
    ) -> int:
        tps = [TopicPartition(t, p) for t in topics for p in range(self.partitions)]
        committed = await client.list_consumer_group_offsets(group, partitions=tps)
        last = await ends.end_offsets(tps)
        done = {tp: max(meta.offset, 0) for tp, meta in committed.items()}
        return sum(last[tp] - done.get(tp, 0) for tp in tps)


TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()  # fields from the state on


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process, its living descendants and its reaped children (PostgreSQL's
    backends come and go under the postmaster)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat(current)
            # utime, stime, and the children's it has waited for (cutime, cstime)
            total += sum(int(f) for f in fields[11:15]) / TICKS
        todo.extend(parents.get(current, []))
    return total


def infra_pids() -> dict[str, int]:
    """The local PostgreSQL, Kafka and FerretDB servers' pids, where their pid files are."""
    local = Path(os.environ.get("RSE_LOCAL_DIR", Path(__file__).resolve().parents[1] / ".local"))
    files = {
        "postgresql (all backends)": local / "postgres/data/postmaster.pid",
        "kafka": local / "kafka/kafka.pid",
        "ferretdb": local / "ferretdb/ferretdb.pid",
    }
    pids = {}
    for name, file in files.items():
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(file.read_text().split()[0])
            if Path(f"/proc/{pid}").exists():
                pids[name] = pid
    return pids


class Cpu:
    """CPU used by each process between `start()` and `stop()`, as a share of one core."""

    def __init__(self, pids: dict[str, int], trees: dict[str, int] | None = None) -> None:
        self.pids = pids
        self.trees = trees or {}  # processes counted with their children
        self.began: dict[str, float] = {}
        self.used: dict[str, float] = {}
        self.wall = 0.0

    def sample(self) -> dict[str, float]:
        own = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return own | {name: tree_cpu_seconds(pid) for name, pid in self.trees.items()}

    def start(self) -> None:
        self.began = self.sample()
        self.wall = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self.wall
        self.used = {name: used - self.began[name] for name, used in self.sample().items()}

    def rows(self) -> list[tuple[object, ...]]:
        return [(name, used, f"{100 * used / self.wall:.0f}%") for name, used in self.used.items()]


# --- raw baseline -------------------------------------------------------------------------


async def raw_round_trips(topic: str, rate: float, count: int, partitions: int = 3) -> list[float]:
    """Produce (acks=all, idempotent) -> consume latencies of `count` messages at `rate`."""
    sender = producer(acks="all", enable_idempotence=True, linger_ms=2)
    receiver = consumer(fetch_max_wait_ms=100)
    await sender.start()
    await receiver.start()
    due: dict[int, float] = {}
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < count:
            batch = await receiver.getmany(timeout_ms=200)
            now = time.perf_counter()
            latencies.extend(now - due.pop(int(r.value)) for rs in batch.values() for r in rs)

    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        receiver.assign(tps)
        await receiver.seek_to_beginning(*tps)

        async def send(i: int, at: float) -> None:
            due[i] = at
            await sender.send_and_wait(topic, str(i).encode(), key=str(i).encode())

        receiving = asyncio.create_task(receive())
        await open_loop("raw kafka", rate, count, send)
        await asyncio.wait_for(receiving, 60)
    finally:
        await receiver.stop()
        await sender.stop()
    return latencies
