"""One trace runs from a citizen's HTTP command through Kafka into another service."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rse_shared.testing import eventually

from .conftest import Platform
from .flows import register_citizen

pytestmark = pytest.mark.integration


async def test_registration_is_traced_into_another_services_projection(
    platform: Platform,
    spans: InMemorySpanExporter,
) -> None:
    await register_citizen(platform["identity"])
    command = next(s for s in reversed(spans.get_finished_spans()) if s.name == "POST /citizens")
    trace_id = command.context.trace_id

    def names() -> set[str]:
        return {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}

    expected = {
        "POST /citizens",
        f"{platform.topics['identity']} publish",
        f"{platform.topics['identity']} process",
        "citizen_directory apply",
        "health_records apply",
    }

    async def reached_the_other_services_projections() -> bool:
        return expected <= names()

    await eventually(reached_the_other_services_projections)


async def test_every_service_exposes_prometheus_metrics(platform: Platform) -> None:
    await register_citizen(platform["identity"])

    async def relayed() -> str | None:
        text = (await platform["identity"].get("/metrics")).text
        return text if "rse_events_relayed_total{" in text else None

    text = await eventually(relayed)
    assert 'rse_http_request_duration_seconds_count{method="POST",route="/citizens"' in text
    for name in platform.services:
        response = await platform[name].get("/metrics")
        assert response.status_code == 200
        assert "rse_projection_lag" in response.text
