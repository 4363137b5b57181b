"""Mixed load: commands across the five services, each timed to another service's projection.

    uv run python bench/mixed_load.py                 # 200 commands/s for 60 s
    uv run python bench/mixed_load.py --quick         # 50 commands/s for 15 s

identity, consent, records, requests and benefits run as five processes of their own on the
real servers (fresh databases, MongoDB databases and topics, wired as the platform wires
them). A prepared population (citizens registered, a family doctor assigned, a chronic
medication on their record, free slots in the doctor's agenda) is then driven open loop
(a command leaves every 1/rate s whatever happened to earlier ones) with this mix:

- registration (identity)  -> records' record and requests' patient documents exist;
- consent grant / revocation (consent) -> a professional's read is permitted / denied by
  records (records' consent register in its event store is polled; the moment it holds the
  new event, one professional read confirms the answer; the latency ends at that read);
- professional read (records; it records the access) -> consent's access history has it;
- renewal asked (citizen) and approved (doctor) (requests) -> records' prescription;
- booking (requests) -> requests' appointment (no other service consumes AppointmentBooked).

Projections are polled every `--poll` s. Consumer-group lag is sampled every second,
CPU per process read from /proc. Baseline, same run, same rate: a raw aiokafka round trip
(acks=all, idempotent producer -> bare consumer) for `--baseline` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import psycopg
from common import headline, latency_plot, percentile, table
from load import (
    LATENCY_HEADERS,
    Arrivals,
    Cpu,
    LagSampler,
    Sent,
    Series,
    bounded_open_loop,
    infra_pids,
    raw_round_trips,
    say,
    watch,
)
from mixed_platform import Platform, platform, prepare

from rse_records.application import RecordsApplication
from rse_records.domain.consent_register import ConsentRegister

MIX = {
    "register": 0.30,
    "read": 0.35,
    "grant": 0.12,
    "revoke": 0.08,
    "renewal": 0.08,
    "booking": 0.07,
}
CAP = 300  # commands in flight at most: beyond, the driver sheds instead of piling up


class ConsentProbe:
    """Waits for records' consent register to change, then confirms with a professional read."""

    def __init__(self, plat: Platform, grant: Series, revoke: Series) -> None:
        self.plat, self.series = plat, {200: grant, 403: revoke}
        self.table = f"{RecordsApplication.name}_events"
        self.awaited: dict[str, tuple[float, int, int]] = {}  # citizen -> due, version, status
        self.versions: dict[str, int] = {}
        self.conn: psycopg.AsyncConnection[tuple[uuid.UUID, int]] | None = None
        self.done: Callable[[str], None] = lambda citizen: None
        self.reads = 0

    def expect(self, citizen: str, due: float, status: int) -> None:
        self.awaited[citizen] = (due, self.versions.get(citizen, 0), status)

    async def poll(self) -> None:
        if not self.awaited:
            return
        if self.conn is None:
            self.conn = await psycopg.AsyncConnection.connect(
                self.plat.records_conninfo, autocommit=True
            )
        ids = {ConsentRegister.create_id(uuid.UUID(c)): c for c in self.awaited}
        rows = await (
            await self.conn.execute(
                f"SELECT originator_id, max(originator_version) FROM {self.table} "
                "WHERE originator_id = ANY(%s) GROUP BY originator_id",
                (list(ids),),
            )
        ).fetchall()
        moved = [(ids[i], v) for i, v in rows if v > self.awaited[ids[i]][1]]
        await asyncio.gather(*(self.confirm(c, v) for c, v in moved))

    async def confirm(self, citizen: str, version: int) -> None:
        due, _, status = self.awaited[citizen]
        self.reads += 1
        try:
            answer = await self.plat.professional_read(citizen, f"P-PROBE-{self.reads}")
        except httpx.HTTPError:
            return  # a read that timed out confirms nothing: the next poll reads again
        if answer == status:  # else the next poll confirms again
            del self.awaited[citizen]
            self.versions[citizen] = version
            self.series[status].latencies.append(time.perf_counter() - due)
            self.done(citizen)

    def give_up(self) -> None:
        for _, _, status in self.awaited.values():
            self.series[status].unfinished += 1
        self.awaited.clear()

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class Mix:
    """The open-loop driver: one command per tick, its kind drawn from MIX."""

    def __init__(self, plat: Platform, seed: int) -> None:
        self.plat = plat
        self.random = random.Random(seed)
        labels = {
            "register_records": "registration (identity) -> record (records)",
            "register_requests": "registration (identity) -> patient (requests)",
            "grant": "consent grant (consent) -> read permitted (records)",
            "revoke": "consent revocation (consent) -> read denied (records)",
            "read": "professional read (records) -> access history (consent)",
            "renewal": "renewal approved (requests) -> prescription (records)",
            "booking": "booking (requests) -> appointment (requests, own)",
        }
        self.series = {k: Series(v) for k, v in labels.items()}
        s, db = self.series, plat.mongo
        self.records = Arrivals(db["records"].records, s["register_records"])
        self.patients = Arrivals(db["requests"].patients, s["register_requests"])
        self.accesses = Arrivals(
            db["consent"].accesses, s["read"], key="practitioner_id", scope="citizen_id"
        )
        self.prescriptions = Arrivals(
            db["records"].prescriptions, s["renewal"], key="renewal_request_id"
        )
        self.appointments = Arrivals(db["requests"].appointments, s["booking"])
        self.consent = ConsentProbe(plat, s["grant"], s["revoke"])
        self.consent.done = self.free_consent_citizen
        self.busy: set[str] = set()  # consent citizens with a grant or revocation in flight
        self.reads = 0
        self.run = int(time.time()) % 1000 + 1

    def watchers(self) -> list[Arrivals | ConsentProbe]:
        return [
            self.records,
            self.patients,
            self.accesses,
            self.prescriptions,
            self.appointments,
            self.consent,
        ]

    async def fire(self, i: int, due: float) -> None:
        kind = self.random.choices(list(MIX), weights=list(MIX.values()))[0]
        command: Callable[[int, float], Awaitable[None]] = getattr(self, kind)
        try:
            await command(i, due)
        except httpx.HTTPError:
            self.series["register_records" if kind == "register" else kind].failed += 1

    async def register(self, i: int, due: float) -> None:
        citizen = await self.plat.register(i + 1_000, self.run)
        if citizen is None:
            self.series["register_records"].failed += 1
            return
        self.records.expect(citizen, due)
        self.patients.expect(citizen, due)

    async def read(self, i: int, due: float) -> None:
        self.reads += 1
        practitioner, citizen = f"P-READ-{self.reads}", self.random.choice(self.plat.citizens)
        self.accesses.expect(practitioner, due, scope=citizen)
        if await self.plat.professional_read(citizen, practitioner) not in (200, 403):
            self.accesses.awaited.pop(practitioner, None)
            self.series["read"].failed += 1

    def free_consent_citizen(self, citizen: str) -> None:
        self.busy.discard(citizen)

    def idle_citizen(self, granted: bool) -> str | None:
        choices = [
            c
            for c in self.plat.citizens
            if c not in self.busy and (c in self.plat.consents) == granted
        ]
        return self.random.choice(choices) if choices else None

    async def grant(self, i: int, due: float) -> None:
        citizen = self.idle_citizen(granted=False)
        if citizen is None:
            self.series["grant"].skipped += 1
            return
        self.busy.add(citizen)
        if not await self.plat.grant(citizen):
            self.series["grant"].failed += 1
            self.busy.discard(citizen)
            return
        self.consent.expect(citizen, due, 200)

    async def revoke(self, i: int, due: float) -> None:
        citizen = self.idle_citizen(granted=True)
        if citizen is None:
            self.series["revoke"].skipped += 1
            return
        self.busy.add(citizen)
        if not await self.plat.revoke(citizen):
            self.series["revoke"].failed += 1
            self.busy.discard(citizen)
            return
        self.consent.expect(citizen, due, 403)

    async def renewal(self, i: int, due: float) -> None:
        patient = self.plat.take_patient()
        if patient is None:
            self.series["renewal"].skipped += 1
            return
        try:
            request_id = await self.plat.ask_renewal(patient)
            if request_id is None:
                self.series["renewal"].failed += 1
                return
            approved_at = time.perf_counter()
            self.prescriptions.expect(request_id, approved_at)
            if not await self.plat.approve(request_id, patient):
                self.prescriptions.awaited.pop(request_id, None)
                self.series["renewal"].failed += 1
        finally:
            self.plat.give_back(patient)

    async def booking(self, i: int, due: float) -> None:
        patient = self.plat.take_patient()
        if patient is None or not self.plat.slots:
            self.series["booking"].skipped += 1
            if patient is not None:
                self.plat.give_back(patient)
            return
        try:
            appointment = await self.plat.book(patient, self.plat.slots.pop())
            if appointment is None:
                self.series["booking"].failed += 1
            else:
                self.appointments.expect(appointment, due)
        finally:
            self.plat.give_back(patient)


async def drive(
    plat: Platform, rate: float, duration: float, poll: float, drain: float
) -> tuple[Mix, LagSampler, Cpu, Sent]:
    """The mix at `rate` for `duration` s, watched until every effect arrived or `drain`."""
    mix = Mix(plat, seed=13)
    lag = LagSampler(plat.groups())
    cpu = Cpu({**plat.pids, "this driver": os.getpid()}, infra_pids())
    stop_watch, stop_lag = asyncio.Event(), asyncio.Event()
    watching = asyncio.create_task(watch(mix.watchers(), poll, stop_watch, drain))
    sampling = asyncio.create_task(lag.run(stop_lag))
    cpu.start()
    try:
        sent = await bounded_open_loop(
            "mixed load", rate, int(rate * duration), mix.fire, cap=CAP, slack=10, grace=15
        )
    finally:
        stop_watch.set()
        await watching
        cpu.stop()
        stop_lag.set()
        await sampling
        for watcher in mix.watchers():
            await watcher.close()
    return mix, lag, cpu, sent


def report(
    mix: Mix,
    lag: LagSampler,
    cpu: Cpu,
    sent: Sent,
    raw: list[float],
    rate: float,
    duration: float,
) -> None:
    rows = [
        Series("raw aiokafka produce -> consume", raw).row(),
        *(s.row() for s in mix.series.values()),
    ]
    print(
        f"\nmixed open loop at {rate:g} commands/s for {duration:g} s "
        f"({int(rate * duration)} commands; skipped: no idle citizen for it; unfinished: "
        f"not seen before the drain ended; CPU from load start to drain end)"
    )
    print(table(LATENCY_HEADERS, rows))
    print(
        f"commands started {sent.started}, shed with {CAP} in flight {sent.shed}, not started "
        f"by the cut-off {sent.not_sent}, cancelled after the grace {sent.timed_out}"
    )
    revoke = [s * 1000 for s in mix.series["revoke"].latencies]
    if revoke and raw:
        print(
            f"revocation -> denial p99 {percentile(revoke, 99):.0f} ms (target <= 150); "
            f"raw round trip p99 {percentile([r * 1000 for r in raw], 99):.1f} ms"
        )
    paths = [s for s in mix.series.values() if s.latencies]
    headline(
        "mixed_load",
        rate=rate,
        started=sent.started,
        commands=int(rate * duration),
        p50_ms=max(percentile([v * 1000 for v in s.latencies], 50) for s in paths),
        p99_ms=max(percentile([v * 1000 for v in s.latencies], 99) for s in paths),
        revocation_p99_ms=percentile(revoke, 99) if revoke else float("nan"),
        max_lag=max(lag.peak.values(), default=0),
    )
    print()
    print(table(("consumer group", "max lag (messages)"), sorted(lag.peak.items())))
    print()
    print(table(("process", "CPU s", "of one core"), cpu.rows()))
    print(f"consent probe reads: {mix.consent.reads}")
    series = {"raw aiokafka round trip": [r * 1000 for r in raw]}
    series |= {k: [v * 1000 for v in s.latencies] for k, s in mix.series.items() if s.latencies}
    latency_plot(
        "mixed_load", f"mixed load at {rate:g}/s: command -> other service's projection", series
    )


async def main(args: argparse.Namespace) -> None:
    async with platform() as plat:
        await prepare(
            plat,
            citizens=args.citizens,
            patients=args.patients,
            slots=int(args.rate * args.duration * MIX["booking"] * 1.3) + 10,
        )
        say(f"baseline: raw kafka round trips at {args.rate:g}/s for {args.baseline:g} s")
        raw = await raw_round_trips(plat.raw_topic, args.rate, int(args.rate * args.baseline))
        say(f"load: {args.rate:g} commands/s for {args.duration:g} s")
        mix, lag, cpu, sent = await drive(plat, args.rate, args.duration, args.poll, args.drain)
    report(mix, lag, cpu, sent, raw, args.rate, args.duration)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="commands per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--quick", action="store_true", help="50 commands/s for 15 s")
    parser.add_argument(
        "--baseline",
        type=float,
        default=20.0,
        help="seconds of raw kafka round trips at the same rate",
    )
    parser.add_argument("--poll", type=float, default=0.01, help="projection poll interval, s")
    parser.add_argument(
        "--drain",
        type=float,
        default=30.0,
        help="seconds to wait after the load for what has not arrived",
    )
    parser.add_argument(
        "--citizens",
        type=int,
        default=150,
        help="prepared citizens that consents and reads are aimed at",
    )
    parser.add_argument(
        "--patients",
        type=int,
        default=40,
        help="prepared patients with a family doctor (renewals, bookings)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rate, args.duration, args.baseline = 50.0, 15.0, 10.0
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
