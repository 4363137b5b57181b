"""A service, or a bare consuming application, running for the length of a test."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
from faststream.kafka import KafkaBroker

from rse_shared.consumer_application import ConsumerApplication
from rse_shared.idempotent_consumer import IdempotentConsumer
from rse_shared.kafka import ADMIN, broker_security, tool_settings
from rse_shared.service import Service


@contextlib.asynccontextmanager
async def feeding(
    bootstrap: str,
    app: ConsumerApplication,
    topics: list[str],
    *,
    group_id: str | None = None,
    owners: dict[str, str] | None = None,
) -> AsyncIterator[IdempotentConsumer]:
    """`app` fed from `topics` by an idempotent consumer (in a group of its own by default);
    `owners` names the producer of each topic whose name does not."""
    broker = KafkaBroker(
        bootstrap,
        logger=logging.getLogger("faststream"),
        security=broker_security(tool_settings(ADMIN)),
    )
    consumer = IdempotentConsumer(
        broker,
        app,
        topics=topics,
        max_attempts=3,
        retry_backoff=0.05,
        owners=owners,
        group_id=group_id or f"g-{uuid.uuid4().hex[:8]}",
    )
    await broker.start()
    try:
        yield consumer
    finally:
        await broker.stop()


@contextlib.asynccontextmanager
async def running(service: Service) -> AsyncIterator[Service]:
    """The service with its relay, projectors, consumer and jobs running; closed after."""
    await service.workers.start()
    try:
        yield service
    finally:
        await service.close()


@contextlib.asynccontextmanager
async def asgi_client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the service's API in process."""
    transport = httpx.ASGITransport(app=service.api)
    name = service.settings.service_name
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as http:
        yield http
