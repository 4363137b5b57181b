"""Building blocks every service's composition root uses: the FastAPI app and workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from aiokafka.admin import AIOKafkaAdminClient
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, FastAPI, Request
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from rse_shared.acting import ActingScope
from rse_shared.auth import TokenVerifier, http_jwks_loader
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.erasure import ErasureProjection
from rse_shared.http import (
    BodyLimit,
    Check,
    health_router,
    install_problem_handlers,
    refuse_nul_characters,
)
from rse_shared.idempotent_consumer import consumer_worker
from rse_shared.kafka import broker_security, client_options
from rse_shared.keyring import CitizenErased
from rse_shared.keys import load_or_create_key
from rse_shared.locks import advisory_lock
from rse_shared.log_tail import LogTail
from rse_shared.loops import Worker, pause
from rse_shared.metrics import MeasureRequests, metrics_router
from rse_shared.notify import SAFETY_POLL, Listener, Wake, listener_for, waker
from rse_shared.projection import Projection, ProjectionRunner
from rse_shared.relay import OutboxRelay, Translator
from rse_shared.revocation import Revocations
from rse_shared.settings import ServiceSettings
from rse_shared.telemetry import TraceRequests
from rse_shared.topics import events_topic

log = logging.getLogger(__name__)

# A failed worker is restarted after FIRST_RETRY seconds, doubling up to LAST_RETRY while it
# keeps failing; one that ran for HEALTHY_RUN seconds before failing starts over.
FIRST_RETRY, LAST_RETRY, HEALTHY_RUN = 0.5, 5.0, 30.0


def read_models(request: Request) -> AsyncDatabase[Any]:
    """The service's MongoDB database (set on the app by `create_api`), as a dependency."""
    db: AsyncDatabase[Any] = request.app.state.mongo_db
    return db


ReadModels = Annotated[AsyncDatabase[Any], Depends(read_models)]


def readiness_checks(settings: ServiceSettings, db: AsyncDatabase[Any]) -> dict[str, Check]:
    """Checks that PostgreSQL, Kafka and MongoDB answer."""

    async def postgres() -> None:
        async with await psycopg.AsyncConnection.connect(
            settings.postgres_conninfo(), connect_timeout=2
        ) as conn:
            await conn.execute("SELECT 1")

    async def kafka() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap,
            request_timeout_ms=2000,
            **client_options(settings),
        )
        await asyncio.wait_for(admin.start(), timeout=3)
        try:
            await asyncio.wait_for(admin.list_topics(), timeout=3)
        finally:
            await admin.close()

    async def mongo() -> None:
        await asyncio.wait_for(db.command("ping"), timeout=3)

    return {"postgres": postgres, "kafka": kafka, "mongo": mongo}


def single_active(conninfo: str, lock_name: str, worker: Worker) -> Worker:
    """Run `worker` only while holding an advisory lock: one active replica, others standby."""

    async def run(stop: asyncio.Event) -> None:
        async with advisory_lock(conninfo, lock_name) as lease:
            await lease.guard(worker(stop))

    return run


def periodic(
    interval: float,
    step: Callable[[AsyncDatabase[Any]], Awaitable[object]],
) -> Callable[[AsyncDatabase[Any]], Worker]:
    """A scheduled job for `assemble(scheduled=...)`: `step(db)` every `interval` seconds."""

    def job(db: AsyncDatabase[Any]) -> Worker:
        async def run(stop: asyncio.Event) -> None:
            while not stop.is_set():
                await step(db)
                await pause(stop, interval)

        return run

    return job


class Workers:
    """Background loops (relay, projector, consumers) run beside the API until stopped."""

    def __init__(self, workers: Mapping[str, Worker]) -> None:
        self.workers = dict(workers)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.stop.clear()
        self.tasks = [
            asyncio.create_task(self._keep_running(name, worker), name=name)
            for name, worker in self.workers.items()
        ]

    async def _keep_running(self, name: str, worker: Worker) -> None:
        """Restart a worker that failed (broker or database away), with a back-off."""
        delay = FIRST_RETRY
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                await worker(self.stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if time.monotonic() - started > HEALTHY_RUN:
                    delay = FIRST_RETRY  # it had been working: a new failure, not the same one
                log.exception("worker %s failed; restarting in %.1fs", name, delay)
                await pause(self.stop, delay)
                delay = min(delay * 2, LAST_RETRY)

    async def close(self) -> None:
        self.stop.set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def create_api(
    *,
    title: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    errors: Mapping[type[Exception], int],
    checks: Mapping[str, Check],
    workers: Workers | None = None,
    state: Mapping[str, Any] | None = None,
) -> FastAPI:
    """A service's FastAPI app: routers, problem+json, body limit, health, workers."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if workers is not None:
            await workers.start()
        try:
            yield
        finally:
            if workers is not None:
                await workers.close()

    api = FastAPI(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul_characters)],
    )
    for key, value in (state or {}).items():
        setattr(api.state, key, value)
    install_problem_handlers(api, errors)
    api.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    api.add_middleware(ActingScope)
    api.add_middleware(MeasureRequests)
    api.add_middleware(TraceRequests)
    api.include_router(health_router(checks))
    api.include_router(metrics_router())
    for router in routers:
        api.include_router(router)
    return api


@dataclass
class Service:
    """One service, assembled: its application, read models, relay, workers and API."""

    settings: ServiceSettings
    app: Application[Any]
    mongo: AsyncMongoClient[Any]
    db: AsyncDatabase[Any]
    relay: OutboxRelay
    projectors: dict[str, ProjectionRunner]
    workers: Workers
    api: FastAPI
    verifier: TokenVerifier

    async def close(self) -> None:
        await self.workers.close()
        await self.mongo.close()
        self.app.close()


def _relay(
    settings: ServiceSettings,
    app: Application[Any],
    translate: Translator,
    topic: str | None,
    *,
    poll: float,
    wake: Wake | None,
    log: LogTail,
) -> OutboxRelay:
    """The outbox relay to the service's own events topic (from the topology by default)."""
    name = settings.service_name
    return OutboxRelay(
        app,
        translate,
        topic=settings.topic_prefix + (topic or events_topic(name)),
        bootstrap=settings.kafka_bootstrap,
        conninfo=settings.postgres_conninfo(),
        poll_interval=poll,
        producer=name,
        wake=wake,
        kafka=client_options(settings),
        audit_key=load_or_create_key(settings.audit_key_file),
        checkpoint_interval=settings.checkpoint_interval,
        log=log,
    )


def _loops(
    settings: ServiceSettings,
    app: Application[Any],
    relay: OutboxRelay,
    projectors: Mapping[str, ProjectionRunner],
    consumes: Sequence[str],
    db: AsyncDatabase[Any],
    extra_workers: Mapping[str, Worker],
    scheduled: Mapping[str, Callable[[AsyncDatabase[Any]], Worker]],
    listener: Listener | None,
) -> Workers:
    """Relay, projectors (one replica each), consumer, extra workers and scheduled jobs."""
    name, conninfo = settings.service_name, settings.postgres_conninfo()
    loops: dict[str, Worker] = {"relay": relay.run}
    if listener is not None:
        loops["listener"] = listener.run
    for projection_name, runner in projectors.items():
        loops[f"projector:{projection_name}"] = single_active(
            conninfo, f"projector:{name}:{projection_name}", runner.run
        )
    if consumes:
        if not isinstance(app, ConsumerApplication):
            raise TypeError(f"{type(app).__name__} must be a ConsumerApplication to consume")
        loops["consumer"] = consumer_worker(
            settings.kafka_bootstrap,
            app,
            topics=[settings.topic_prefix + t for t in consumes],
            group_id=settings.consumer_group,
            max_attempts=settings.consumer_max_attempts,
            topic_prefix=settings.topic_prefix,
            security=broker_security(settings),
        )
    loops.update(extra_workers)
    # Jobs over the read models (e.g. lapsing what expired) run in one replica only.
    for job_name, job in scheduled.items():
        loops[job_name] = single_active(conninfo, f"{job_name}:{name}", job(db))
    return Workers(loops)


def assemble(
    settings: ServiceSettings,
    app: Application[Any],
    *,
    translate: Translator,
    projections: Sequence[Projection] = (),
    consumes: Sequence[str] = (),
    routers: Sequence[APIRouter] = (),
    errors: Mapping[type[Exception], int] | None = None,
    state: Mapping[str, Any] | None = None,
    verifier: TokenVerifier | None = None,
    extra_workers: Mapping[str, Worker] | None = None,
    scheduled: Mapping[str, Callable[[AsyncDatabase[Any]], Worker]] | None = None,
    topic: str | None = None,
) -> Service:
    """Build a service's parts from its settings; nothing connects until started.

    `extra_workers` run in every replica; `scheduled` jobs get the read-model database
    and run in one replica at a time.
    """
    mongo, db = _read_models(settings)
    # One LISTEN connection wakes the relay and projectors; they poll only as a safety net.
    listener = listener_for(app, settings.postgres_conninfo())
    poll = settings.relay_poll_interval if listener is None else SAFETY_POLL
    # The relay and the projectors read the log's newest notifications once between them.
    log = LogTail(app.recorder, listener)
    relay = _relay(settings, app, translate, topic, poll=poll, wake=waker(listener), log=log)
    # Every service deletes an erased citizen's documents (rse_shared.erasure).
    projectors = _projectors(app, [*projections, ErasureProjection()], db, poll, listener, log)
    jobs = (extra_workers or {}, scheduled or {})
    workers = _loops(settings, app, relay, projectors, consumes, db, *jobs, listener)
    verifier = verifier or _verifier(settings)
    revocations = _revocations(settings, app, verifier)
    workers.workers["revocations"] = revocations.follow
    state = {
        "app": app,
        "token_verifier": verifier,
        "mongo_db": db,
        "service_name": settings.service_name,  # the proxy guard's routes are per service
        "revocations": revocations,
        **(state or {}),
    }
    api = create_api(
        title=f"RSE {settings.service_name}",
        settings=settings,
        routers=routers,
        # An erased citizen's data no longer opens: to every caller it is not there.
        errors={IntegrityError: 409, CitizenErased: 404, **(errors or {})},
        checks=readiness_checks(settings, db),
        workers=workers,
        state=state,
    )
    return Service(settings, app, mongo, db, relay, projectors, workers, api, verifier)


def _read_models(settings: ServiceSettings) -> tuple[AsyncMongoClient[Any], AsyncDatabase[Any]]:
    """The MongoDB client (aware UTC datetimes) and the service's database."""
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(
        settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    return mongo, KeptCollections(mongo, settings.mongo_db)


class KeptCollections(AsyncDatabase[Any]):
    """A database that hands out the same collection object for a name: pymongo builds a
    new one on every `db[name]` (a tenth of a projection's time on the event loop)."""

    def __init__(self, client: AsyncMongoClient[Any], name: str) -> None:
        super().__init__(client, name)
        self._kept: dict[str, AsyncCollection[Any]] = {}

    def __getitem__(self, name: str) -> AsyncCollection[Any]:
        collection = self._kept.get(name)
        if collection is None:
            collection = self._kept[name] = super().__getitem__(name)
        return collection


def _projectors(
    app: Application[Any],
    projections: Sequence[Projection],
    db: AsyncDatabase[Any],
    poll: float,
    listener: Listener | None,
    log: LogTail,
) -> dict[str, ProjectionRunner]:
    """One runner per projection, woken by the listener (or polling every `poll` seconds)."""
    return {
        p.name: ProjectionRunner(app, p, db, poll_interval=poll, wake=waker(listener), log=log)
        for p in projections
    }


def _revocations(
    settings: ServiceSettings, app: Application[Any], verifier: TokenVerifier
) -> Revocations:
    """The service's revoked tokens: fed by its consumer, consulted by its verifier."""
    revocations = Revocations(settings.postgres_conninfo())
    if isinstance(app, ConsumerApplication):
        app.revocations = revocations
    if verifier.revocations is None:
        verifier.revocations = revocations
    return revocations


def _verifier(settings: ServiceSettings) -> TokenVerifier:
    """Verifies access tokens offline against identity's JWKS."""
    return TokenVerifier(
        http_jwks_loader(settings.jwks_url),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
