"""What the benchmarks share: scratch databases and topics, service processes, tables, plots.

Run as a script (`python bench/common.py SPEC`) it is the body of a service process: one
service of the platform, built by its own bootstrap on the benchmark's fresh database and
topics, serving its API with its relay, projectors and consumer, like `rse-<name> serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import math
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from rse_shared import topics as topology
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.progress import Progress
from rse_shared.settings import ServiceSettings
from rse_shared.testing import create_topic, eventually, unique

OUT = Path(__file__).resolve().parent / "out"

# Benchmarks reach Kafka as the admin, as the tests do: their scratch topics and groups are
# outside the topology's ACLs. The service processes they start inherit it.
os.environ.setdefault("RSE_KAFKA_USERNAME", ADMIN)

SERVICE_NAMES = frozenset(topology.SERVICES)

# The topics each service consumes, as the platform wires them (tests/e2e/conftest.py).
CONSUMES = {
    "identity": [],
    "consent": ["records"],
    "records": ["identity", "consent", "requests"],
    "requests": ["identity", "records", "benefits"],
    "benefits": ["identity"],
}


def infra_settings() -> ServiceSettings:
    """Where the real servers are (RSE_* environment, else the local defaults)."""
    return ServiceSettings(service_name="bench", environment="test")


class Scratch:
    """Fresh PostgreSQL databases (with their MongoDB namesakes) and topics, all dropped after."""

    def __init__(self, infra: ServiceSettings) -> None:
        self.infra = infra
        self.admin = infra.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
        self.databases: list[str] = []
        self.topics: list[str] = []

    def database(self, label: str = "rse_bench") -> str:
        name = unique(label)
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return name

    async def topic(self, label: str) -> str:
        """A scratch topic; a service's is named so that its owner can be read from it
        (`t.<id>.<service>.events`), as consumers now refuse events from anyone else."""
        owned = label in SERVICE_NAMES
        name = await create_topic(self.infra.kafka_bootstrap, label if owned else f"bench.{label}")
        self.topics.append(name)
        return name

    def settings(self, database: str) -> ServiceSettings:
        return self.infra.model_copy(update={"postgres_db": database, "mongo_db": database})

    async def drop(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for name in self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(self.infra.mongo_url)
        for name in self.databases:
            await mongo.drop_database(name)
        await mongo.close()
        if self.topics:
            kafka = AIOKafkaAdminClient(
                bootstrap_servers=self.infra.kafka_bootstrap, **tool_options(ADMIN)
            )
            await kafka.start()
            try:
                await kafka.delete_topics(self.topics)
            finally:
                await kafka.close()


@contextlib.asynccontextmanager
async def scratch() -> AsyncIterator[Scratch]:
    resources = Scratch(infra_settings())
    try:
        yield resources
    finally:
        await resources.drop()


# --- service processes ------------------------------------------------------------------


@dataclass
class ServiceSpec:
    """One service process: which service, on which database, port and topics."""

    service: str
    database: str
    port: int
    topic: str
    consumes: list[str] = field(default_factory=list)
    jwks: dict[str, Any] | None = None  # verify tokens with these keys, else fetch jwks_url
    jwks_url: str = ""
    fast_hash: bool = False  # identity: a cheap password hash (the hash is not under test)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def build(spec: ServiceSpec) -> Any:
    """The service, built by its own bootstrap from Settings as its CLI would."""
    config = importlib.import_module(f"rse_{spec.service}.config")
    bootstrap = importlib.import_module(f"rse_{spec.service}.bootstrap").bootstrap
    overrides: dict[str, Any] = {"jwks_url": spec.jwks_url} if spec.jwks_url else {}
    if spec.consumes:
        # A consumer group of its own: another copy of the service on the same broker
        # joining "records" would stall this one's partitions.
        overrides["consumer_group"] = spec.database
    settings = config.Settings(
        environment="test",
        postgres_db=spec.database,
        mongo_db=spec.database,
        http_port=spec.port,
        **overrides,
    )
    if spec.service == "identity":
        from argon2 import PasswordHasher

        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        return bootstrap(settings, topic=spec.topic, hasher=hasher if spec.fast_hash else None)
    from rse_shared.auth import TokenVerifier, jwks_from_json

    verifier = (
        TokenVerifier(
            jwks_from_json(json.dumps(spec.jwks)),
            issuer=settings.jwt_issuer,
            # Tokens of the benchmark's TokenMint, minted for the benchmark's audience.
            audience=infra_settings().jwt_audience,
        )
        if spec.jwks
        else None
    )
    return bootstrap(settings, topic=spec.topic, consumes=spec.consumes, verifier=verifier)


def serve(spec_json: str) -> None:
    import uvicorn

    logging.disable(logging.INFO)  # FastStream logs every message at INFO
    spec = ServiceSpec(**json.loads(spec_json))
    uvicorn.run(
        build(spec).api, host="127.0.0.1", port=spec.port, log_config=None, access_log=False
    )


@contextlib.asynccontextmanager
async def service_process(spec: ServiceSpec) -> AsyncIterator[asyncio.subprocess.Process]:
    """The service in a process of its own, ready to answer; terminated after."""
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, json.dumps(asdict(spec)))
    try:
        await ready(spec.port, child)
        yield child
    finally:
        if child.returncode is None:
            child.terminate()
            await asyncio.wait_for(child.wait(), 30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def ready(port: int, child: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:

        async def answers() -> bool:
            if child.returncode is not None:
                raise RuntimeError("the service process exited")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(f"http://127.0.0.1:{port}/health/ready")
                return response.status_code == 200
            return False

        await eventually(answers, timeout=90, every=0.2)


# --- load and Kafka ---------------------------------------------------------------------


def registration(i: int, run: int) -> dict[str, str]:
    """A valid registration; SNS and NIF numbers unique within the run."""
    seed = run * 100_000 + i
    first8 = f"2{seed % 10**7:07d}"
    total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return {
        "full_name": "Maria Santos",
        "date_of_birth": "1975-03-02",
        "nif": first8 + str(0 if check >= 10 else check),
        "sns_number": f"3{seed:08d}",
        "email": "maria@example.pt",
        "phone": "+351913000000",
        "address": "Rua B, Porto",
        "password": "a long enough secret",
    }


async def open_loop(
    label: str, rate: float, count: int, fire: Callable[[int, float], Awaitable[None]]
) -> None:
    """Start `fire(i, scheduled_at)` every 1/rate seconds, whether or not earlier ones ended."""
    progress = Progress(label, count)
    started = time.perf_counter()
    tasks = []
    for i in range(count):
        at = started + i / rate
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        tasks.append(asyncio.create_task(fire(i, at)))
        progress.update(i + 1)
    await asyncio.gather(*tasks)
    progress.close()


async def raw_consume(
    bootstrap: str, topic: str, partitions: int = 3, timeline: list[tuple[float, int]] | None = None
) -> int:
    """Read every message of `topic` with a bare aiokafka consumer; how many there were."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(ADMIN)
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        read, started = 0, time.perf_counter()
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            read += sum(len(v) for v in batch.values())
            if timeline is not None:
                timeline.append((time.perf_counter() - started, read))
        return read
    finally:
        await consumer.stop()


# --- tables and plots -------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join(
        [line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])]
    )


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


KEY_VARIABLES = ("RSE_STORE_KEY", "RSE_DATA_KEK", "RSE_KEYRING_CONNINFO")


def clear_env(settings: ServiceSettings) -> dict[str, str]:
    """An event store environment without keys: events stored and published in clear, the
    platform as it was before encryption (the baseline that prices it)."""
    return {k: v for k, v in settings.eventstore_env().items() if k not in KEY_VARIABLES}


@dataclass
class Rate:
    """One measured rate: what, how many, in how long, and optionally how it went over time."""

    label: str
    count: int
    seconds: float
    timeline: list[tuple[float, int]] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def rate_table(rates: Sequence[Rate]) -> str:
    rows = [(r.label, r.count, f"{r.seconds:.2f}", r.per_second) for r in rates]
    return table(("what", "events", "seconds", "events/s"), rows)


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    print(f"plot: {path.relative_to(OUT.parent.parent)}", file=sys.stderr)
    return path


def rate_plot(name: str, title: str, rates: Sequence[Rate]) -> Path:
    """Bars of each rate; beside them, the count over time where a timeline was kept."""
    plt = pyplot()
    timed = [r for r in rates if r.timeline]
    figure, axes = plt.subplots(
        1, 2 if timed else 1, figsize=(11 if timed else 6, 4.2), squeeze=False
    )
    bars = axes[0][0]
    drawn = bars.bar(
        [r.label for r in rates],
        [r.per_second for r in rates],
        color=[f"C{i}" for i in range(len(rates))],
    )
    bars.bar_label(drawn, labels=[f"{r.per_second:,.0f}/s" for r in rates])
    bars.set_ylabel("events per second")
    bars.set_title(title)
    bars.tick_params(axis="x", labelsize=8)
    if timed:
        over_time = axes[0][1]
        for i, r in enumerate(rates):
            if r.timeline:
                points = [(0.0, 0), *r.timeline]
                over_time.plot(*zip(*points, strict=True), label=r.label, color=f"C{i}")
        over_time.set_xlabel("seconds")
        over_time.set_ylabel("events done")
        over_time.set_title("progress over time")
        over_time.legend(fontsize=8)
    return save(figure, name)


def latency_plot(name: str, title: str, series: dict[str, Sequence[float]]) -> Path:
    """Histogram and CDF of latencies in milliseconds, both on a log x axis."""
    plt = pyplot()
    import numpy as np

    figure, (hist, cdf) = plt.subplots(1, 2, figsize=(11, 4.2))
    low = max(min(min(v) for v in series.values()), 0.1)
    high = max(max(v) for v in series.values())
    bins = np.geomspace(low, high * 1.01, 60)
    for i, (label, values) in enumerate(series.items()):
        hist.hist(values, bins=bins, alpha=0.6, label=label, color=f"C{i}")
        ordered = np.sort(values)
        cdf.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), label=label, color=f"C{i}")
        for p, style in ((50, ":"), (99, "--"), (99.9, "-.")):
            cdf.axvline(percentile(values, p), color=f"C{i}", linestyle=style, linewidth=0.8)
    for axis, where in ((hist, "upper center"), (cdf, "lower right")):
        axis.set_xscale("log")
        axis.set_xlabel("milliseconds (log)")
        axis.legend(fontsize=8, loc=where)
    hist.set_ylabel("samples")
    hist.set_title(title)
    cdf.set_ylabel("share of samples at or below")
    cdf.set_title("CDF (dotted p50, dashed p99, dash-dot p99.9)")
    return save(figure, name)


if __name__ == "__main__":
    serve(sys.argv[1])


def headline(name: str, **figures: float) -> None:
    """Save a benchmark's headline figures for bench/targets.py (bench/out/<name>.json)."""
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(figures, indent=1) + "\n")
