"""The `<service>.events` channels: each producer's contracts, its relay, its consumers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rse_shared import topics as topology
from rse_shared.asyncapi.parts import (
    CITIZEN_KEY,
    SCHEMAS,
    Schemas,
    Sections,
    channel,
    channel_id,
    contracts,
    doc_of,
    kafka_key,
    message_id,
    operation,
    producer_of,
    ref,
)
from rse_shared.chain import GENESIS
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.contracts.sealed import SealedEvent

ENVELOPE_FIELDS = {
    "event_id": "Stable id derived from the stored domain event: a re-publication keeps it, "
    "so consumers deduplicate on it.",
    "occurred_at": "When the domain event was stored (ISO 8601, UTC).",
    "producer": "The publishing service.",
    "citizen_id": "The citizen the event is about; also the Kafka message key.",
    "correlation_id": "The request or flow this event belongs to, if known.",
    "causation_id": "The event that caused this one, if known.",
    "source_position": "Notification id of the event in the producer's outbox log.",
    "chain_prev": f"Set by the relay: `chain_hash` of the previous event in the same topic "
    f"partition (`{GENESIS[:8]}...`, 64 zeros, for the first).",
    "chain_hash": "Set by the relay: SHA-256 (hex) over this document's canonical JSON "
    "(sorted keys, no spaces) without `chain_hash`, `chain_prev` included.",
}

TRACEPARENT = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

PROTECTED = {
    "type": "string",
    "pattern": "^[12]:[A-Za-z0-9+/]+={0,2}$",
    "description": "The fields listed in `x-protected-fields`, out of the document: "
    "`2:` then base64 of a 12-byte nonce (the first bytes of the SHA-256 of the associated "
    "data) and the AES-256-GCM-SIV ciphertext of their canonical JSON object under the "
    "citizen's data key (rse_shared.keyring), with the associated data "
    "`<event_type>:<event_id>:<citizen_id>`; so an event published again is byte-identical "
    "(`1:`, AES-256-GCM with a random nonce, in events published before). "
    "Consumers holding key access reveal it before parsing; once the citizen is erased "
    "it opens for no one. It is part of the chain hash like every other field.",
}


def protect_fields(schema: dict[str, Any], cls: type[IntegrationEvent]) -> None:
    """The contract's protected fields travel in `protected`: listed, no longer required."""
    if not cls.protected_fields:
        return
    properties: dict[str, Any] = schema["properties"]
    schema["x-protected-fields"] = list(cls.protected_fields)
    for name in cls.protected_fields:
        said = properties[name].get("description")
        travels = "Protected: travels inside `protected`, under the citizen's data key."
        properties[name]["description"] = f"{said} {travels}" if said else travels
    properties["protected"] = dict(PROTECTED)
    schema["required"] = [r for r in schema.get("required", []) if r not in cls.protected_fields]


def payload(schemas: Schemas, cls: type[IntegrationEvent]) -> None:
    """The contract's schema, with the envelope described and its name and version fixed."""
    schema = schemas.add_model(message_id(cls), cls)
    properties: dict[str, Any] = schema["properties"]
    for name, description in ENVELOPE_FIELDS.items():
        properties[name].setdefault("description", description)
    properties["event_type"] = {
        "type": "string",
        "const": cls.event_type,
        "description": "The contract's name.",
    }
    properties["schema_version"] = {
        "type": "integer",
        "const": cls.schema_version,
        "description": "The contract's version.",
    }
    schema["required"] = [*schema.get("required", []), "event_type", "schema_version"]
    protect_fields(schema, cls)


def event_headers(cls: type[IntegrationEvent]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event_type", "event_id"],
        "properties": {
            "event_type": {
                "type": "string",
                "const": cls.event_type,
                "description": "The payload's `event_type`, to route without parsing the value.",
            },
            "event_id": {
                "type": "string",
                "format": "uuid",
                "description": "The payload's `event_id`.",
            },
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT,
                "description": "W3C trace context of the command that stored the "
                "event (absent when it was not traced).",
            },
            "tracestate": {"type": "string", "description": "W3C trace state, if any."},
        },
    }


def event_message(cls: type[IntegrationEvent], producer: str) -> dict[str, Any]:
    summary, description = doc_of(cls)
    message: dict[str, Any] = {
        "name": cls.event_type,
        "title": f"{cls.event_type} v{cls.schema_version}",
        "summary": summary or f"{cls.event_type}, published by {producer}.",
        "contentType": "application/json",
        "headers": event_headers(cls),
        "payload": ref(SCHEMAS + message_id(cls)),
        "bindings": kafka_key(CITIZEN_KEY),
    }
    if description:
        message["description"] = description
    return message


def topic_of(cls: type[IntegrationEvent]) -> str:
    """The topic a contract travels on: its producer's events topic, or its channel."""
    producer = producer_of(cls)
    if issubclass(cls, SealedEvent):
        return topology.channel_topic(producer, cls.channel_subject)
    if topology.owner_of(topology.events_topic(producer)) != producer:
        raise ValueError(f"{cls.__name__}: {producer} publishes no events topic")
    return topology.events_topic(producer)


def published_messages(sections: Sections) -> dict[str, list[str]]:
    """Every contract's message, added; the message ids on each topic."""
    published: dict[str, list[str]] = {}
    for cls in contracts():
        payload(sections.schemas, cls)
        sections.messages[message_id(cls)] = event_message(cls, producer_of(cls))
        published.setdefault(topic_of(cls), []).append(message_id(cls))
    return published


def check_consumed(published: Mapping[str, list[str]]) -> None:
    """Every topic a service consumes carries contracts."""
    for group, topic in topology.consumer_pairs():
        if topic not in published:
            raise ValueError(f"{group} consumes {topic}, which no contract is on")


def _description(topic: str, readers: tuple[str, ...]) -> str:
    producer = topology.owner_of(topic)
    sealed = topic != topology.events_topic(str(producer))
    what = (
        f"Restricted channel of {producer}: only {', '.join(readers)} may read it (ACL), and "
        f"each payload's `sealed` field is sealed to that reader's X25519 key "
        f"(rse_shared.sealed)"
        if sealed
        else f"Integration events of {producer} (rse_shared.contracts.{producer})"
    )
    return (
        f"{what}, published by its outbox relay with acks=all, keyed by citizen id, "
        f"hash-chained per partition. Consumed by: {', '.join(readers) or 'no service'}; "
        f"verified by `rse-audit verify`."
    )


def add_event_topics(sections: Sections) -> None:
    """One channel per topic: its owner's relay sends, each consumer group receives."""
    published = published_messages(sections)
    check_consumed(published)
    for topic, ids in sorted(published.items()):
        producer = str(topology.owner_of(topic))
        cid = channel_id(topic)
        readers = topology.consumers_of(topic)
        sections.channels[cid] = channel(topic, ids, _description(topic, readers))
        sections.operations[f"{producer}_send_{cid}"] = operation(
            "send", cid, ids, f"The {producer} outbox relay publishes its integration events."
        )
        for group in readers:
            sections.operations[f"{group}_receive_{cid}"] = operation(
                "receive",
                cid,
                ids,
                f"The {group} idempotent consumer applies them (exactly-once effect); what "
                f"it cannot apply goes to `{topology.dlq_topic(group, topic)}`.",
                group=group,
            )
