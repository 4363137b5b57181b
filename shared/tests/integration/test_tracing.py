"""Trace context crosses Kafka: the consumer's span continues the relay's trace."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rse_shared.chain import GENESIS, link
from rse_shared.idempotent_consumer import IdempotentConsumer
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.settings import ServiceSettings
from rse_shared.telemetry import inject_trace_headers, tracer
from rse_shared.testing import RegistrationTally, a_registration, eventually

pytestmark = pytest.mark.integration


async def test_the_consumer_span_joins_the_trace_of_the_published_message(
    spans: InMemorySpanExporter,
    consuming: IdempotentConsumer,
    tally: RegistrationTally,
    fresh_topic: str,
    infra: ServiceSettings,
) -> None:
    event = a_registration()
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, **tool_options(ADMIN))
    await producer.start()
    try:
        with tracer().start_as_current_span("command") as command:
            wire = json.dumps(link(event.to_wire(), GENESIS)).encode()
            await producer.send_and_wait(
                fresh_topic,
                wire,
                key=str(event.citizen_id).encode(),
                headers=inject_trace_headers(),
            )
    finally:
        await producer.stop()

    async def counted() -> bool:
        return await asyncio.to_thread(tally.count, event.citizen_id) == 1

    await eventually(counted)
    process = [s for s in spans.get_finished_spans() if s.name == f"{fresh_topic} process"]
    assert process, "the consumer recorded no span"
    assert process[0].context.trace_id == command.get_span_context().trace_id
    assert process[0].parent is not None
    assert process[0].parent.span_id == command.get_span_context().span_id
