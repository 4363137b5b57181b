"""OpenTelemetry set-up and W3C trace context carried in Kafka headers."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from starlette.types import ASGIApp, Receive, Scope, Send

Headers = list[tuple[str, bytes]]


def setup_tracing(
    service_name: str, otlp_endpoint: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install a tracer provider; export over OTLP/HTTP when an endpoint is configured."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"rse-{service_name}"}))
    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def tracer() -> trace.Tracer:
    """The platform's tracer (the global provider's, or a proxy until one is set)."""
    return _TRACER


_TRACER = trace.get_tracer("rse")


def inject_trace_headers(headers: Iterable[tuple[str, bytes]] = ()) -> Headers:
    """Kafka headers with the current trace context (traceparent, tracestate) added."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [*headers, *((k, v.encode()) for k, v in carrier.items())]


def extract_trace_context(headers: Iterable[tuple[str, bytes]] | None) -> Context:
    """The trace context a Kafka message carried, to parent the consumer's span."""
    carrier = {k: v.decode(errors="replace") for k, v in (headers or ())}
    return propagate.extract(carrier)


def context_from_traceparent(traceparent: str | None) -> Context | None:
    """The trace context a stored event was written under (None if it carries none)."""
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


class TraceRequests:
    """ASGI middleware: one server span per HTTP request, continuing the caller's trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        name = f"{scope['method']} {scope['path']}"
        with tracer().start_as_current_span(
            name, context=propagate.extract(carrier), kind=trace.SpanKind.SERVER
        ):
            await self.app(scope, receive, send)
