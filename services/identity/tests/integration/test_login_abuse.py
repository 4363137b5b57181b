"""Login under attack, on a real identity process with its real argon2 (64 MiB a hash):
a flood of concurrent logins, and known against unknown usernames."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from rse_identity.application import IdentityApplication
from rse_identity.config import Settings
from rse_shared.testing import Kit, eventually

from .test_api import a_registration

pytestmark = pytest.mark.integration
T = TypeVar("T")

CONCURRENCY = 4  # the process's RSE_LOGIN_CONCURRENCY
ARGON2_MIB = 64  # what one hash takes (argon2-cffi's default memory_cost)
FIGURES = Path(os.environ.get("RSE_FIGURES_DIR", "/tmp")) / "identity-login-figures.txt"


@dataclass
class Identity:
    """An identity process of its own and what the test seeded in its database."""

    url: str
    pid: int
    citizens: list[dict[str, str]]


def rss_mib(pid: int) -> float:
    """Resident set size of a process (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def seed(settings: Settings, count: int) -> list[dict[str, str]]:
    """Register citizens with the real hasher, straight into the process's event store."""
    app = IdentityApplication(env=settings.eventstore_env())
    try:
        citizens = [a_registration() for _ in range(count)]
        for body in citizens:
            fields = {k: v for k, v in body.items() if k != "date_of_birth"}
            app.register_citizen(**fields, date_of_birth=date.fromisoformat(body["date_of_birth"]))
        return citizens
    finally:
        app.close()


async def peak_rss_during(pid: int, work: Awaitable[T]) -> tuple[float, T]:
    """The process's peak resident memory (MiB, sampled every 20 ms) while `work` runs."""
    samples: list[float] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mib(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        result = await work
    finally:
        stop.set()
        await sampler
    return max(samples), result


@pytest.fixture
async def process(kit: Kit, new_topic: Callable[[str], Awaitable[str]]) -> AsyncIterator[Identity]:
    topic = await new_topic("identity")
    port = _free_port()
    settings = kit.settings(Settings)
    citizens = await asyncio.to_thread(seed, settings, 10)
    env = {
        **os.environ,
        "RSE_ENVIRONMENT": "test",
        "RSE_POSTGRES_DB": settings.postgres_db,
        "RSE_MONGO_DB": settings.mongo_db,
        "RSE_CONSUMER_GROUP": settings.consumer_group,
        "RSE_TOPIC_PREFIX": topic.removesuffix("identity.events"),
        "RSE_HTTP_PORT": str(port),
        "RSE_LOGIN_CONCURRENCY": str(CONCURRENCY),
        "RSE_LOG_LEVEL": "WARNING",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rse_identity.cli", "serve", env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _ready(url, child)
        yield Identity(url, child.pid, citizens)
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        await asyncio.wait_for(child.wait(), 30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _ready(url: str, child: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:

        async def answers() -> bool:
            assert child.returncode is None, "identity exited"
            with contextlib.suppress(httpx.HTTPError):
                return (await client.get(f"{url}/health/live")).status_code == 200
            return False

        await eventually(answers, timeout=90, every=0.2)


async def test_fifty_concurrent_logins_keep_memory_bounded_and_all_get_an_answer(
    process: Identity,
) -> None:
    # Five logins for each of the ten citizens (within the per-account limit), half of
    # them with a wrong password, and unknown usernames beside them: 50 at once.
    attempts = [
        {"username": c["sns_number"], "password": c["password"] if i % 2 else "wrong password"}
        for i, c in enumerate(process.citizens * 4)
    ] + [{"username": f"9{n:08d}", "password": "a guess"} for n in range(10)]
    baseline = rss_mib(process.pid)
    async with httpx.AsyncClient(base_url=process.url, timeout=60) as client:
        started = time.monotonic()
        logins = asyncio.gather(*(client.post("/auth/token", json=a) for a in attempts))
        peak, answers = await peak_rss_during(process.pid, logins)
        took = time.monotonic() - started
    statuses = [r.status_code for r in answers]
    assert len(answers) == 50
    assert set(statuses) <= {200, 401, 429, 503}, [r.text for r in answers]
    assert all("Retry-After" in r.headers for r in answers if r.status_code in (429, 503))
    # The bound: the process as it was, plus the hashes the gate lets run at once (and one
    # more for the allocator's slack); fifty hashes unbounded would need 3.2 GiB.
    limit = baseline + (CONCURRENCY + 1) * ARGON2_MIB
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    FIGURES.write_text(
        f"50 concurrent logins: baseline {baseline:.0f} MiB, peak {peak:.0f} MiB, "
        f"limit {limit:.0f} MiB, answers {counts}, {took:.1f} s\n"
    )
    print(FIGURES.read_text())
    assert peak < limit, (baseline, peak, counts)


async def test_a_flood_of_registrations_keeps_memory_bounded_and_all_get_an_answer(
    process: Identity,
) -> None:
    # Each registration hashes its password: fifty at once must queue at the same gate.
    baseline = rss_mib(process.pid)
    async with httpx.AsyncClient(base_url=process.url, timeout=60) as client:
        flood = asyncio.gather(
            *(client.post("/citizens", json=a_registration()) for _ in range(50))
        )
        peak, answers = await peak_rss_during(process.pid, flood)
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {201, 503}, [r.text for r in answers if r.status_code >= 400]
    assert all("Retry-After" in r.headers for r in answers if r.status_code == 503)
    assert statuses.count(201) >= CONCURRENCY  # the gate lets its share through
    assert peak < baseline + (CONCURRENCY + 1) * ARGON2_MIB, (baseline, peak)


async def test_unknown_and_known_accounts_answer_alike_in_status_body_and_time(
    process: Identity,
) -> None:
    async with httpx.AsyncClient(base_url=process.url, timeout=60) as client:

        async def timed(username: str) -> tuple[float, httpx.Response]:
            started = time.perf_counter()
            response = await client.post(
                "/auth/token", json={"username": username, "password": "not the password"}
            )
            return time.perf_counter() - started, response

        known = [await timed(c["sns_number"]) for c in process.citizens[:6]]
        unknown = [await timed(f"8{n:08d}") for n in range(6)]
    for _, response in known + unknown:
        assert response.status_code == 401
    assert {r.text for _, r in known} == {r.text for _, r in unknown}
    known_s = statistics.median(t for t, _ in known)
    unknown_s = statistics.median(t for t, _ in unknown)
    with FIGURES.open("a") as figures:
        figures.write(f"wrong password: known {known_s:.3f} s, unknown {unknown_s:.3f} s\n")
    # Without the dummy hash an unknown username answers in a few ms, a known one after
    # a full argon2 verification.
    assert 0.5 < unknown_s / known_s < 2.0, (known_s, unknown_s)
