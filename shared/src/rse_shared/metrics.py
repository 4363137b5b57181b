"""Prometheus metrics every service exposes at /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "rse_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"]
)
EVENTS_RELAYED = Counter(
    "rse_events_relayed_total", "Integration events published and acknowledged", ["topic"]
)
RELAY_POSITION = Gauge(
    "rse_relay_position", "Last notification id acknowledged by the broker", ["topic"]
)
MESSAGES_CONSUMED = Counter(
    "rse_messages_consumed_total", "Kafka messages handled by outcome", ["topic", "outcome"]
)
CONSUMER_LAG = Gauge(
    "rse_consumer_lag",
    "Messages behind the partition's end after the last one handled",
    ["topic", "partition"],
)
DLQ_MESSAGES = Counter("rse_dlq_messages_total", "Messages sent to a dead-letter topic", ["topic"])
REFUSED_MESSAGES = Counter(
    "rse_messages_refused_total",
    "Messages refused as not the topic owner's (forged, out of chain, implausible position)",
    ["topic", "reason"],
)
PROJECTION_FAILURES = Counter(
    "rse_projection_failures_total",
    "Events a projection could not apply and set aside",
    ["projection"],
)
PROJECTION_LAG = Gauge(
    "rse_projection_lag", "Notifications not yet applied to a projection", ["projection"]
)

EMERGENCIES_UNREVIEWED = Gauge(
    "rse_emergency_accesses_unreviewed", "Emergency (break-the-glass) accesses awaiting review"
)
EMERGENCIES_OLDEST_UNREVIEWED = Gauge(
    "rse_emergency_oldest_unreviewed_timestamp_seconds",
    "When the oldest unreviewed emergency access happened (0: none); age = time() - this",
)


class MeasureRequests:
    """ASGI middleware: observes each request's latency under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
