"""Resident memory of each of the five services, idle and under a steady load of commands.

    uv run python bench/memory.py --users 4 --duration 30

Runs identity, consent, records, requests and benefits as five processes of their own on
the real servers (fresh databases, MongoDB databases and topics, wired as the platform
wires them), each with its API, relay, projectors and consumer, identity with its real
argon2 password hashing. Idle: resident memory (VmRSS from /proc/<pid>/status) sampled
every 0.5 s for `--idle` seconds after `--settle` seconds of quiet. Load: `--users`
simulated citizens, each in a loop for `--duration` seconds, register and are activated
at the counter (identity), log in (identity), grant a consent (consent; records follows
it), ask for a fee exemption (benefits; requests follows it), read their record (records)
and their renewals (requests); memory sampled every 0.5 s meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx
from common import (
    CONSUMES,
    ServiceSpec,
    free_port,
    pyplot,
    registration,
    save,
    scratch,
    service_process,
    table,
)

from rse_shared.testing import staff_login

SERVICES = ["identity", "consent", "records", "requests", "benefits"]
EVERY = 0.5
OPERATOR, OPERATOR_PASSWORD = "bench-counter", "a long enough operator secret"


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def sample(pids: dict[str, int], stop: asyncio.Event) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in pids}
    while not stop.is_set():
        for name, pid in pids.items():
            samples[name].append(rss_mib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EVERY)
    return samples


async def sample_for(pids: dict[str, int], seconds: float) -> dict[str, list[float]]:
    stop = asyncio.Event()
    sampling = asyncio.create_task(sample(pids, stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await sampling


class Citizens:
    """Simulated citizens going through the platform's commands and queries over HTTP."""

    def __init__(self, specs: dict[str, ServiceSpec]) -> None:
        self.clients = {
            name: httpx.AsyncClient(base_url=spec.url, timeout=60) for name, spec in specs.items()
        }
        self.answers: Counter[tuple[str, int]] = Counter()
        self.registered = 0
        self.operator: dict[str, str] = {}

    async def open_counter(self, identity_db: str) -> None:
        """An operator made in identity's event store (as `rse-identity create-operator`
        does), logged in: they issue the citizens' activation codes."""
        from argon2 import PasswordHasher

        from rse_identity.application import IdentityApplication
        from rse_identity.config import Settings

        env = Settings(environment="test", postgres_db=identity_db).eventstore_env()
        app = IdentityApplication(env=env, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
        app.provision_staff(username=OPERATOR, password=OPERATOR_PASSWORD, role="operator")
        app.close()
        # Staff log in with a second factor (enrolled the first time by the shared helper).
        token = await staff_login(self.clients["identity"], OPERATOR, OPERATOR_PASSWORD)
        self.operator = {"Authorization": f"Bearer {token}"}

    async def call(self, service: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = await self.clients[service].request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:  # counted, and the simulated citizen moves on
            self.answers[service, 0] += 1
            return httpx.Response(599)
        self.answers[service, response.status_code] += 1
        return response

    async def one(self, body: dict[str, str]) -> None:
        created = await self.call("identity", "POST", "/citizens", json=body)
        if created.status_code != 201:
            return
        self.registered += 1
        citizen = created.json()["citizen_id"]
        # Activated at the counter (an operator's code; counted in identity's answers).
        code = await self.call(
            "identity", "POST", f"/citizens/{citizen}/activation-codes", headers=self.operator
        )
        if code.status_code != 201:
            return
        activated = await self.call(
            "identity",
            "POST",
            "/citizens/activate",
            json={"sns_number": body["sns_number"], "code": code.json()["code"]},
        )
        if activated.status_code != 204:
            return
        login = await self.call(
            "identity",
            "POST",
            "/auth/token",
            json={"username": body["sns_number"], "password": body["password"]},
        )
        if login.status_code != 200:
            return
        auth = await self.per_service(login.json()["access_token"])
        await self.call(
            "consent",
            "POST",
            f"/citizens/{citizen}/consents",
            headers=auth["consent"],
            json={"grantee": {"kind": "all_sns"}, "categories": ["vaccinations"]},
        )
        await self.call(
            "benefits",
            "POST",
            f"/citizens/{citizen}/exemptions",
            headers=auth["benefits"],
            json={
                "category": "blood_donor",
                "evidence": [{"kind": "donor card", "reference": "BD-1"}],
            },
        )
        await self.call("records", "GET", f"/records/{citizen}", headers=auth["records"])
        await self.call(
            "requests", "GET", f"/citizens/{citizen}/renewals", headers=auth["requests"]
        )

    async def per_service(self, token: str) -> dict[str, dict[str, str]]:
        """The login session's token for each service (each accepts only its own audience)."""
        headers: dict[str, dict[str, str]] = {}
        for service in ("consent", "benefits", "records", "requests"):
            exchanged = await self.call(
                "identity",
                "POST",
                "/auth/exchange",
                json={"audience": f"rse-{service}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            access = exchanged.json()["access_token"] if exchanged.status_code == 200 else token
            headers[service] = {"Authorization": f"Bearer {access}"}
        return headers

    async def user(self, first: int, stride: int, until: float, run: int) -> None:
        i = first
        while time.perf_counter() < until:
            await self.one(registration(i, run))
            i += stride

    async def drive(self, users: int, seconds: float) -> None:
        until, run = time.perf_counter() + seconds, int(time.time()) % 1000
        await asyncio.gather(*(self.user(u, users, until, run) for u in range(users)))

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def plot(idle: dict[str, list[float]], load: dict[str, list[float]], title: str) -> None:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.2))
    width = 0.27
    for shift, (label, values) in enumerate(
        (
            ("idle", [statistics.mean(idle[s]) for s in SERVICES]),
            ("load, mean", [statistics.mean(load[s]) for s in SERVICES]),
            ("load, peak", [max(load[s]) for s in SERVICES]),
        )
    ):
        bars = axis.bar(
            [i + (shift - 1) * width for i in range(len(SERVICES))],
            values,
            width,
            label=label,
            color=f"C{shift}",
        )
        axis.bar_label(bars, labels=[f"{v:.0f}" for v in values], fontsize=7)
    axis.set_xticks(range(len(SERVICES)), SERVICES)
    axis.set_ylabel("resident memory, MiB")
    axis.set_title(title)
    axis.legend(fontsize=8)
    save(figure, "memory")


async def main(users: int, duration: float, settle: float, idle_seconds: float) -> None:
    async with scratch() as fresh, contextlib.AsyncExitStack() as stack:
        topics = {name: await fresh.topic(name) for name in SERVICES}
        specs = {
            name: ServiceSpec(
                name,
                fresh.database(),
                free_port(),
                topics[name],
                consumes=[topics[c] for c in CONSUMES[name]],
            )
            for name in SERVICES
        }
        for name, spec in specs.items():
            if name != "identity":
                spec.jwks_url = f"{specs['identity'].url}/.well-known/jwks.json"
        children = await asyncio.gather(
            *(stack.enter_async_context(service_process(spec)) for spec in specs.values())
        )
        pids = {name: child.pid for name, child in zip(SERVICES, children, strict=True)}
        print(f"services up; {settle:g} s to settle, then {idle_seconds:g} s of idle samples")
        await asyncio.sleep(settle)
        idle = await sample_for(pids, idle_seconds)
        citizens = Citizens(specs)
        await citizens.open_counter(specs["identity"].database)
        print(f"load: {users} simulated citizens for {duration:g} s")
        stop = asyncio.Event()
        sampling = asyncio.create_task(sample(pids, stop))
        try:
            await citizens.drive(users, duration)
        finally:
            stop.set()
            load = await sampling
            await citizens.close()
    calls = sum(citizens.answers.values())
    rows = [
        (
            name,
            statistics.mean(idle[name]),
            statistics.mean(load[name]),
            max(load[name]),
            sum(n for (s, _), n in citizens.answers.items() if s == name),
        )
        for name in SERVICES
    ]
    print(
        f"\n{citizens.registered} citizens registered, {calls} HTTP calls "
        f"({calls / duration:.0f}/s); answers: "
        + ", ".join(f"{s} {c}: {n}" for (s, c), n in sorted(citizens.answers.items()))
    )
    print(table(("service", "idle MiB", "load mean MiB", "load peak MiB", "HTTP calls"), rows))
    print(
        f"total idle {sum(r[1] for r in rows):.0f} MiB, under load (peak) "
        f"{sum(r[3] for r in rows):.0f} MiB"
    )
    plot(idle, load, f"resident memory per service ({users} citizens, {duration:g} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="simulated citizens at once")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before idle samples")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle samples")
    args = parser.parse_args()
    asyncio.run(main(args.users, args.duration, args.settle, args.idle))
