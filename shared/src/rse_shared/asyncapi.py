"""One AsyncAPI 3.0 document for every Kafka topic, generated from the contract registry.

Each `<service>.events` topic carries the contracts of its producer module
(`rse_shared.contracts.<service>`); `audit.checkpoints` and `audit.keys` carry the relays'
signed chain heads and verification keys; `<group>.<topic>.dlq` the consumers' dead letters.
The output is deterministic (sorted keys, sorted lists), so the committed file can be
compared with a fresh rendering:

    uv run python -m rse_shared.asyncapi            # writes docs/asyncapi.yaml
    uv run python -m rse_shared.asyncapi --check    # exit 1 if docs/asyncapi.yaml is stale
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

import rse_shared.contracts  # noqa: F401 - importing the package registers every contract
from rse_shared.chain import CHECKPOINTS_TOPIC, GENESIS, KEYS_TOPIC
from rse_shared.contracts.envelope import IntegrationEvent, registered_contracts

ASYNCAPI_VERSION = "3.0.0"
TITLE = "RSE platform events"
DOCUMENT_ID = "urn:rse:platform-events"
KAFKA_BINDING_VERSION = "0.5.0"
DOC_PATH = Path("docs") / "asyncapi.yaml"
CONTRACTS_PACKAGE = "rse_shared.contracts"
SERVER = {
    "host": "127.0.0.1:19092",
    "protocol": "kafka",
    "description": "The local Kafka broker of `make up` (deploy/local).",
}
SCHEMAS = "#/components/schemas/"
MESSAGES = "#/components/messages/"

CONSUMERS: dict[str, tuple[str, ...]] = {
    "benefits": ("identity.events",),
    "consent": ("records.events",),
    "records": ("identity.events", "consent.events", "requests.events"),
    "requests": ("identity.events", "records.events", "benefits.events"),
}
"""Topics each service consumes; its consumer group id is the service name."""

DLQ_ADDRESS = "{group}.{topic}.dlq"
"""`rse_shared.consumer.dlq_topic(group, topic)`, as an AsyncAPI channel address expression."""

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

CITIZEN_KEY = {
    "type": "string",
    "format": "uuid",
    "description": "The citizen id (`citizen_id`): a citizen's events share a partition, "
                   "in order.",
}


class Checkpoint(BaseModel):
    """A relay's signed chain head of one topic partition (rse_shared.chain.signed_checkpoint).

    The Ed25519 signature covers the canonical JSON of every other field.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: str = Field(description="The publishing service.")
    topic: str = Field(description="The topic whose chain this is.")
    partition: int = Field(ge=0, description="The partition whose chain this is.")
    head: str = Field(pattern="^[0-9a-f]{64}$",
                      description="`chain_hash` of the partition's last event.")
    count: int = Field(ge=0, description="Number of events in the chain up to `head`.")
    at: datetime = Field(description="When the checkpoint was signed.")
    key_id: str = Field(pattern="^[0-9a-f]{16}$",
                        description="Id of the verification key on `audit.keys`.")
    signature: str = Field(description="Base64 Ed25519 signature.")


class VerificationKey(BaseModel):
    """A relay's Ed25519 public key (rse_shared.chain.public_key_document)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: str = Field(description="The publishing service.")
    key_id: str = Field(pattern="^[0-9a-f]{16}$",
                        description="First 16 hex digits of SHA-256 over the raw key.")
    public_key: str = Field(description="Base64 raw Ed25519 public key (32 bytes).")


class DeadLetterEntry(BaseModel):
    """A message a consumer could not apply (rse_shared.consumer.IdempotentConsumer)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    group_id: str = Field(description="The consumer group (the consuming service).")
    topic: str = Field(description="The topic the message was read from.")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str | None = Field(description="The original key, as UTF-8 text.")
    value: str | None = Field(description="The original value, as UTF-8 text.")
    error: str = Field(description="Why it could not be applied.")
    attempts: int = Field(ge=1, description="How many times it was tried.")
    failed_at: datetime = Field(description="When it was dead-lettered.")


def contracts() -> list[type[IntegrationEvent]]:
    """Every registered contract, ordered by (event type, schema version)."""
    return sorted(registered_contracts(), key=lambda c: (c.event_type, c.schema_version))


def producer_of(cls: type[IntegrationEvent]) -> str:
    """The service that publishes a contract: the name of its contracts module."""
    package, _, service = cls.__module__.rpartition(".")
    if package != CONTRACTS_PACKAGE:
        raise ValueError(f"{cls.__name__} is defined outside {CONTRACTS_PACKAGE}")
    return service


def events_topic(service: str) -> str:
    return f"{service}.events"


def channel_id(topic: str) -> str:
    """`identity.events` -> `identityEvents`."""
    first, *rest = topic.split(".")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def message_id(cls: type[IntegrationEvent]) -> str:
    """The event type, suffixed `.vN` from schema version 2 on."""
    if cls.schema_version == 1:
        return cls.event_type
    return f"{cls.event_type}.v{cls.schema_version}"


def _ref(pointer: str) -> dict[str, str]:
    return {"$ref": pointer}


def _doc(cls: type) -> tuple[str | None, str | None]:
    """(summary, description) from a class's own docstring."""
    raw = cls.__dict__.get("__doc__")
    if not raw:
        return None, None
    text = inspect.cleandoc(raw)
    summary = text.split("\n\n", 1)[0].replace("\n", " ")
    return summary, (text if text != summary else None)


class _Schemas:
    """components/schemas, with pydantic's `$defs` hoisted into it."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}

    def add(self, name: str, schema: Mapping[str, Any]) -> None:
        if name in self.schemas and self.schemas[name] != schema:
            raise ValueError(f"two different schemas are both called {name}")
        self.schemas[name] = dict(schema)

    def add_model(self, name: str, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(mode="serialization",
                                         ref_template=SCHEMAS + "{model}")
        for nested, definition in sorted(schema.pop("$defs", {}).items()):
            self.add(nested, definition)
        self.add(name, schema)
        return self.schemas[name]


def _payload(schemas: _Schemas, cls: type[IntegrationEvent]) -> None:
    schema = schemas.add_model(message_id(cls), cls)
    properties: dict[str, Any] = schema["properties"]
    for field, description in ENVELOPE_FIELDS.items():
        properties[field].setdefault("description", description)
    properties["event_type"] = {"type": "string", "const": cls.event_type,
                                "description": "The contract's name."}
    properties["schema_version"] = {"type": "integer", "const": cls.schema_version,
                                    "description": "The contract's version."}
    schema["required"] = [*schema.get("required", []), "event_type", "schema_version"]


def _event_headers(cls: type[IntegrationEvent]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event_type", "event_id"],
        "properties": {
            "event_type": {"type": "string", "const": cls.event_type,
                           "description": "The payload's `event_type`, to route without "
                                          "parsing the value."},
            "event_id": {"type": "string", "format": "uuid",
                         "description": "The payload's `event_id`."},
            "traceparent": {"type": "string",
                            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                            "description": "W3C trace context of the command that stored the "
                                           "event (absent when it was not traced)."},
            "tracestate": {"type": "string", "description": "W3C trace state, if any."},
        },
    }


def _kafka_key(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"kafka": {"key": dict(schema), "bindingVersion": KAFKA_BINDING_VERSION}}


def _event_message(cls: type[IntegrationEvent], producer: str) -> dict[str, Any]:
    summary, description = _doc(cls)
    message: dict[str, Any] = {
        "name": cls.event_type,
        "title": f"{cls.event_type} v{cls.schema_version}",
        "summary": summary or f"{cls.event_type}, published by {producer}.",
        "contentType": "application/json",
        "headers": _event_headers(cls),
        "payload": _ref(SCHEMAS + message_id(cls)),
        "bindings": _kafka_key(CITIZEN_KEY),
    }
    if description:
        message["description"] = description
    return message


def _model_message(schemas: _Schemas, model: type[BaseModel], key: Mapping[str, Any],
                   headers: dict[str, Any] | None = None) -> dict[str, Any]:
    schemas.add_model(model.__name__, model)
    summary, description = _doc(model)
    message: dict[str, Any] = {
        "name": model.__name__,
        "title": model.__name__,
        "contentType": "application/json",
        "payload": _ref(SCHEMAS + model.__name__),
        "bindings": _kafka_key(key),
    }
    if summary:
        message["summary"] = summary
    if description:
        message["description"] = description
    if headers:
        message["headers"] = headers
    return message


def _channel(address: str, messages: Iterable[str], description: str,
             **extra: Any) -> dict[str, Any]:
    return {"address": address, "description": description,
            "messages": {m: _ref(MESSAGES + m) for m in sorted(messages)},
            "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING_VERSION}}, **extra}


def _operation(action: str, channel: str, messages: Iterable[str], description: str,
               group: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": _ref(f"#/channels/{channel}"),
        "messages": [_ref(f"#/channels/{channel}/messages/{m}") for m in sorted(messages)],
        "description": description,
    }
    if group is not None:
        operation["bindings"] = {"kafka": {"groupId": {"type": "string", "const": group},
                                           "bindingVersion": KAFKA_BINDING_VERSION}}
    return operation


def _document_version() -> str:
    try:
        return version("rse-shared")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


def _dlq_pairs() -> list[tuple[str, str]]:
    return sorted((group, topic) for group, topics in CONSUMERS.items() for topic in topics)


def build() -> dict[str, Any]:
    """The AsyncAPI document, as plain data."""
    schemas = _Schemas()
    messages: dict[str, dict[str, Any]] = {}
    channels: dict[str, dict[str, Any]] = {}
    operations: dict[str, dict[str, Any]] = {}

    published: dict[str, list[str]] = {}
    for cls in contracts():
        producer = producer_of(cls)
        _payload(schemas, cls)
        messages[message_id(cls)] = _event_message(cls, producer)
        published.setdefault(producer, []).append(message_id(cls))

    topics = {events_topic(p) for p in published}
    for group, consumed in CONSUMERS.items():
        unknown = set(consumed) - topics
        if unknown:
            raise ValueError(f"{group} consumes {sorted(unknown)}, which no contract is on")

    for producer, ids in sorted(published.items()):
        topic = events_topic(producer)
        cid = channel_id(topic)
        readers = sorted(g for g, consumed in CONSUMERS.items() if topic in consumed)
        channels[cid] = _channel(
            topic, ids,
            f"Integration events of {producer} (rse_shared.contracts.{producer}), published "
            f"by its outbox relay with acks=all, keyed by citizen id, hash-chained per "
            f"partition. Consumed by: {', '.join(readers) or 'no service'}; verified by "
            f"`rse-audit verify`.")
        operations[f"{producer}_send_{cid}"] = _operation(
            "send", cid, ids, f"The {producer} outbox relay publishes its integration events.")
        for group in readers:
            operations[f"{group}_receive_{cid}"] = _operation(
                "receive", cid, ids,
                f"The {group} idempotent consumer applies them (exactly-once effect); what "
                f"it cannot apply goes to `{DLQ_ADDRESS.format(group=group, topic=topic)}`.",
                group=group)

    producers = sorted(published)
    key_of_partition = {"type": "string", "pattern": "^.+:[0-9]+$",
                        "description": "`<topic>:<partition>` of the checkpointed chain."}
    messages["Checkpoint"] = _model_message(schemas, Checkpoint, key_of_partition)
    messages["VerificationKey"] = _model_message(
        schemas, VerificationKey,
        {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "The key id."})
    audit_topics = (
        (CHECKPOINTS_TOPIC, "Checkpoint", "signed chain heads",
         "`rse-audit verify` checks each chain against its signed heads."),
        (KEYS_TOPIC, "VerificationKey", "Ed25519 verification keys",
         "`rse-audit verify` checks the checkpoints' signatures with them."),
    )
    for topic, name, what, audit in audit_topics:
        cid = channel_id(topic)
        channels[cid] = _channel(
            topic, [name], f"The relays' {what} (rse_shared.chain); one partition.")
        for producer in producers:
            operations[f"{producer}_send_{cid}"] = _operation(
                "send", cid, [name], f"The {producer} outbox relay publishes its {what}.")
        operations[f"audit_receive_{cid}"] = _operation("receive", cid, [name], audit)

    groups = sorted(CONSUMERS)
    consumed_topics = sorted({t for ts in CONSUMERS.values() for t in ts})
    messages["DeadLetterEntry"] = _model_message(
        schemas, DeadLetterEntry,
        {**CITIZEN_KEY, "description": "The original message's key (the citizen id)."},
        headers={"type": "object", "required": ["x-error", "x-original-topic"],
                 "properties": {
                     "x-error": {"type": "string", "maxLength": 500,
                                 "description": "The error, truncated to 500 characters."},
                     "x-original-topic": {"type": "string",
                                          "description": "The topic it was read from."}}})
    dlq = channel_id("dead.letters")
    addresses = ", ".join(f"`{DLQ_ADDRESS.format(group=g, topic=t)}`" for g, t in _dlq_pairs())
    channels[dlq] = _channel(
        DLQ_ADDRESS, ["DeadLetterEntry"],
        f"Dead letters of consumer group `group` for `topic` (rse_shared.consumer."
        f"dlq_topic): a message that is not a valid contract, or that still fails after "
        f"the retries. The partition keeps flowing. The topics that exist: {addresses}.",
        parameters={
            "group": {"enum": groups, "description": "The consumer group (the service)."},
            "topic": {"enum": consumed_topics, "description": "The topic it consumes."},
        })
    for group in groups:
        operations[f"{group}_send_{dlq}"] = _operation(
            "send", dlq, ["DeadLetterEntry"],
            f"The {group} consumer dead-letters to "
            + ", ".join(f"`{DLQ_ADDRESS.format(group=group, topic=t)}`"
                        for t in sorted(CONSUMERS[group])) + ".")

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": DOCUMENT_ID,
        "info": {
            "title": TITLE,
            "version": _document_version(),
            "description": (
                "Every Kafka topic of the RSE platform. Integration events are frozen, "
                "versioned contracts (rse_shared.contracts): an envelope (event_id, "
                "occurred_at, producer, citizen_id, ..., chain_prev, chain_hash) plus the "
                "event's fields, with `event_type` and `schema_version` naming the contract. "
                "Readers are tolerant: unknown fields are ignored, unknown event types "
                "skipped.\n\nGenerated by `python -m rse_shared.asyncapi`: do not edit."),
        },
        "defaultContentType": "application/json",
        "servers": {"local": dict(SERVER)},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas.schemas, "messages": messages},
    }


def _literal_blocks(dumper: Any, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def render() -> str:
    """The document as YAML text: sorted keys, multi-line text as literal blocks."""
    dumper: Any = type("AsyncAPIDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(str, _literal_blocks)
    body = str(yaml.dump(build(), Dumper=dumper, sort_keys=True, allow_unicode=True,
                         default_flow_style=False, width=100))
    return ("# Generated from the contract registry by `python -m rse_shared.asyncapi`;\n"
            "# do not edit. Check it is current with `--check`.\n" + body)


def default_path(start: Path | None = None) -> Path:
    """docs/asyncapi.yaml of the workspace around `start` (the first folder with uv.lock)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "uv.lock").is_file():
            return folder / DOC_PATH
    return here / DOC_PATH


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rse-asyncapi", description="Write the AsyncAPI document of every Kafka topic.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the file is not what would be written")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"the file (default: {DOC_PATH} of the workspace)")
    args = parser.parse_args(argv)
    path: Path = args.output or default_path()
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            print(f"{path} is out of date: run `uv run python -m rse_shared.asyncapi`",
                  file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
