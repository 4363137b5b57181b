"""The pieces every channel builder uses: the document being built, refs, channels,
operations, messages of a model."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from rse_shared.contracts.envelope import IntegrationEvent, registered_contracts

KAFKA_BINDING_VERSION = "0.5.0"
CONTRACTS_PACKAGE = "rse_shared.contracts"
SCHEMAS = "#/components/schemas/"
MESSAGES = "#/components/messages/"

CITIZEN_KEY = {
    "type": "string",
    "format": "uuid",
    "description": "The citizen id (`citizen_id`): a citizen's events share a partition, in order.",
}


class Schemas:
    """components/schemas, with pydantic's `$defs` hoisted into it."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}

    def add(self, name: str, schema: Mapping[str, Any]) -> None:
        if name in self.schemas and self.schemas[name] != schema:
            raise ValueError(f"two different schemas are both called {name}")
        self.schemas[name] = dict(schema)

    def add_model(self, name: str, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(mode="serialization", ref_template=SCHEMAS + "{model}")
        for nested, definition in sorted(schema.pop("$defs", {}).items()):
            self.add(nested, definition)
        self.add(name, schema)
        return self.schemas[name]


@dataclass
class Sections:
    """What the channel builders fill in: schemas, messages, channels and operations."""

    schemas: Schemas = field(default_factory=Schemas)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)


def contracts() -> list[type[IntegrationEvent]]:
    """Every registered contract, ordered by (event type, schema version)."""
    return sorted(registered_contracts(), key=lambda c: (c.event_type, c.schema_version))


def producer_of(cls: type[IntegrationEvent]) -> str:
    """The service that publishes a contract: the name of its contracts module."""
    package, _, service = cls.__module__.rpartition(".")
    if package != CONTRACTS_PACKAGE:
        raise ValueError(f"{cls.__name__} is defined outside {CONTRACTS_PACKAGE}")
    return service


def channel_id(topic: str) -> str:
    """`identity.events` -> `identityEvents`, `records.prescription-codes` ->
    `recordsPrescriptionCodes`."""
    first, *rest = topic.replace("-", ".").split(".")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def message_id(cls: type[IntegrationEvent]) -> str:
    """The event type, suffixed `.vN` from schema version 2 on."""
    if cls.schema_version == 1:
        return cls.event_type
    return f"{cls.event_type}.v{cls.schema_version}"


def ref(pointer: str) -> dict[str, str]:
    return {"$ref": pointer}


def doc_of(cls: type) -> tuple[str | None, str | None]:
    """(summary, description) from a class's own docstring."""
    raw = cls.__dict__.get("__doc__")
    if not raw:
        return None, None
    text = inspect.cleandoc(raw)
    summary = text.split("\n\n", 1)[0].replace("\n", " ")
    return summary, (text if text != summary else None)


def kafka_key(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"kafka": {"key": dict(schema), "bindingVersion": KAFKA_BINDING_VERSION}}


def model_message(
    schemas: Schemas,
    model: type[BaseModel],
    key: Mapping[str, Any],
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The message of a contract model (not an integration event), its schema added."""
    schemas.add_model(model.__name__, model)
    summary, description = doc_of(model)
    message: dict[str, Any] = {
        "name": model.__name__,
        "title": model.__name__,
        "contentType": "application/json",
        "payload": ref(SCHEMAS + model.__name__),
        "bindings": kafka_key(key),
    }
    if summary:
        message["summary"] = summary
    if description:
        message["description"] = description
    if headers:
        message["headers"] = headers
    return message


def channel(
    address: str, messages: Iterable[str], description: str, **extra: Any
) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "messages": {m: ref(MESSAGES + m) for m in sorted(messages)},
        "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING_VERSION}},
        **extra,
    }


def operation(
    action: str,
    channel_name: str,
    messages: Iterable[str],
    description: str,
    group: str | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "action": action,
        "channel": ref(f"#/channels/{channel_name}"),
        "messages": [ref(f"#/channels/{channel_name}/messages/{m}") for m in sorted(messages)],
        "description": description,
    }
    if group is not None:
        result["bindings"] = {
            "kafka": {
                "groupId": {"type": "string", "const": group},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        }
    return result
