"""docs/asyncapi.yaml is current, complete, well-formed, and describes what is really sent.

Payload and header schemas are checked with `jsonschema` against real documents: a wire
event per contract, a signed checkpoint, a verification key and a dead-letter entry.
The whole document is also validated against the official AsyncAPI 3.0.0 JSON Schema,
which `make install` fetches with npm (@asyncapi/specs) into .local/asyncapi;
RSE_ASYNCAPI_SCHEMA may point elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel

from rse_shared import asyncapi
from rse_shared import topics as topology
from rse_shared.asyncapi import channel_id, contracts, message_id, producer_of
from rse_shared.asyncapi.events import topic_of
from rse_shared.chain import GENESIS, Head, link, public_key_document, signed_checkpoint
from rse_shared.contracts import IntegrationEvent, parse_event
from rse_shared.idempotent_consumer import IdempotentConsumer
from rse_shared.keyring import MemoryKeyring
from rse_shared.protection import protect
from rse_shared.telemetry import inject_trace_headers
from rse_shared.topics import CHECKPOINTS_TOPIC, KEYS_TOPIC, dlq_topic, events_topic

REPO = Path(__file__).resolve().parents[1]
OFFICIAL_SCHEMA = (
    REPO
    / ".local"
    / "asyncapi"
    / "node_modules"
    / "@asyncapi"
    / "specs"
    / "schemas"
    / "3.0.0-without-$id.json"
)
DOC_FILE = REPO / "docs" / "asyncapi.yaml"
DOC_URI = "urn:rse:asyncapi"
COMPONENT_KEY = re.compile(r"^[\w\d.\-_]+$")

Validate = Callable[[str, Any], list[str]]


KEYS = MemoryKeyring()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOC_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validate(document: dict[str, Any]) -> Validate:
    """validate(pointer, instance) -> error messages, the schema at `pointer` resolving
    its `$ref`s within the whole document."""
    import jsonschema
    import referencing
    from referencing.jsonschema import DRAFT7

    registry = referencing.Registry().with_resource(DOC_URI, DRAFT7.create_resource(document))

    def run(pointer: str, instance: Any) -> list[str]:
        validator = jsonschema.Draft7Validator(
            {"$ref": f"{DOC_URI}#{pointer}"},
            registry=registry,
            format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
        )
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]

    return run


# --- the file is current -----------------------------------------------------------------


def test_the_committed_document_is_what_the_generator_writes_now() -> None:
    assert DOC_FILE.read_text(encoding="utf-8") == asyncapi.render(), (
        "docs/asyncapi.yaml is stale: run `uv run python -m rse_shared.asyncapi`"
    )


def test_check_mode_passes_on_the_committed_file_in_a_fresh_interpreter() -> None:
    # A fresh interpreter with another hash seed: the output does not depend on set order.
    result = subprocess.run(
        [sys.executable, "-m", "rse_shared.asyncapi", "--check", "--output", str(DOC_FILE)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert result.returncode == 0, result.stderr


def test_check_mode_fails_on_a_stale_file_and_writing_fixes_it(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "asyncapi.yaml"
    assert asyncapi.main(["--check", "--output", str(target)]) == 1  # missing
    target.parent.mkdir()
    target.write_text(asyncapi.render().replace("3.0.0", "2.6.0"), encoding="utf-8")
    assert asyncapi.main(["--check", "--output", str(target)]) == 1  # different
    assert asyncapi.main(["--output", str(target)]) == 0
    assert asyncapi.main(["--check", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == DOC_FILE.read_text(encoding="utf-8")


def test_the_default_output_is_the_workspace_docs_folder() -> None:
    assert asyncapi.default_path(REPO / "shared" / "src") == DOC_FILE


# --- the document is well-formed ---------------------------------------------------------


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(location, $ref) of every reference in the document."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield where, node["$ref"]
        for key, value in node.items():
            yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, f"{where}/{i}")


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} is not a local reference"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_document_has_the_required_asyncapi_3_structure(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "RSE platform events"
    assert isinstance(document["info"]["version"], str) and document["info"]["version"]
    assert document["servers"]["local"]["host"] == "127.0.0.1:19092"
    assert document["servers"]["local"]["protocol"] == "kafka"
    assert set(document) <= {
        "asyncapi",
        "id",
        "info",
        "servers",
        "defaultContentType",
        "channels",
        "operations",
        "components",
    }
    for section in ("schemas", "messages"):
        for key in document["components"][section]:
            assert COMPONENT_KEY.match(key), f"components/{section}/{key}"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = list(_refs(document))
    assert len(refs) > 100
    for where, ref in refs:
        assert isinstance(_resolve(document, ref), dict), f"{where}: {ref}"


def test_channels_reference_component_messages(document: dict[str, Any]) -> None:
    used = set()
    for cid, channel in document["channels"].items():
        assert channel["messages"], cid
        for mid, message in channel["messages"].items():
            assert message == {"$ref": f"#/components/messages/{mid}"}, (cid, mid)
            used.add(mid)
        names = set(re.findall(r"{(\w+)}", channel["address"]))
        assert names == set(channel.get("parameters", {})), cid
    assert used == set(document["components"]["messages"]), "unused component messages"


def test_every_operation_names_its_channel_and_only_that_channel_s_messages(
    document: dict[str, Any],
) -> None:
    sent = set()
    for oid, operation in document["operations"].items():
        assert operation["action"] in {"send", "receive"}, oid
        channel_ref = operation["channel"]["$ref"]
        assert re.fullmatch(r"#/channels/[^/]+", channel_ref), oid
        channel = _resolve(document, channel_ref)
        assert operation["messages"], oid
        for message in operation["messages"]:
            prefix = f"{channel_ref}/messages/"
            assert message["$ref"].startswith(prefix), (oid, message)
            assert message["$ref"][len(prefix) :] in channel["messages"], (oid, message)
        if operation["action"] == "send":
            sent.add(channel_ref)
    assert sent == {f"#/channels/{cid}" for cid in document["channels"]}, "a channel no one sends"


def test_the_official_asyncapi_schema_accepts_the_document(document: dict[str, Any]) -> None:
    path = os.environ.get("RSE_ASYNCAPI_SCHEMA") or str(OFFICIAL_SCHEMA)
    if not Path(path).is_file():
        pytest.fail(f"no AsyncAPI 3.0.0 schema at {path}: run `make install`")
    import jsonschema

    schema = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(document)
    ]
    assert errors == []


# --- the document matches the code -------------------------------------------------------


def _event_channels(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names = {t.name for t in topology.event_topics() + topology.channel_topics()}
    return {c["address"]: c for c in document["channels"].values() if c["address"] in names}


def test_every_registered_contract_is_on_its_producer_s_topic(document: dict[str, Any]) -> None:
    registered = contracts()
    assert len(registered) >= 20
    channels = _event_channels(document)
    for cls in registered:
        topic = topic_of(cls)
        assert message_id(cls) in channels[topic]["messages"], (cls.__name__, topic)
        message = document["components"]["messages"][message_id(cls)]
        assert message["name"] == cls.event_type
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
    on_channels = {m for c in channels.values() for m in c["messages"]}
    assert on_channels == {message_id(cls) for cls in registered}


def test_operations_are_the_producers_and_the_consumer_groups(document: dict[str, Any]) -> None:
    channels = _event_channels(document)
    operations = document["operations"].values()
    for topic in channels:
        ref = f"#/channels/{channel_id(topic)}"
        senders = [o for o in operations if o["channel"]["$ref"] == ref and o["action"] == "send"]
        assert len(senders) == 1, topic
        groups = sorted(
            o["bindings"]["kafka"]["groupId"]["const"]
            for o in operations
            if o["channel"]["$ref"] == ref and o["action"] == "receive"
        )
        assert groups == list(topology.consumers_of(topic)), topic
    for address in (CHECKPOINTS_TOPIC, KEYS_TOPIC):
        assert document["channels"][channel_id(address)]["address"] == address
    dlq = document["channels"]["deadLetters"]
    assert dlq["address"] == dlq_topic("{group}", "{topic}")
    assert dlq["parameters"]["group"]["enum"] == sorted({g for g, _ in topology.consumer_pairs()})
    assert dlq["parameters"]["topic"]["enum"] == sorted({t for _, t in topology.consumer_pairs()})


def test_the_event_channels_are_the_topology_s_events_topics(document: dict[str, Any]) -> None:
    addresses = {c["address"] for c in document["channels"].values()}
    listed = topology.event_topics() + topology.channel_topics() + topology.audit_topics()
    assert addresses == {t.name for t in listed} | {dlq_topic("{group}", "{topic}")}
    channels = _event_channels(document)
    for topic in channels:
        producers = {
            producer_of(cls)
            for cls in contracts()
            if message_id(cls) in channels[topic]["messages"]
        }
        assert producers <= {topology.owner_of(topic)}, topic


# --- the schemas accept what is really sent ----------------------------------------------

SAMPLES: dict[Any, Any] = {
    uuid.UUID: uuid.UUID("8d3e6f1a-2b4c-4d5e-9f60-718293a4b5c6"),
    datetime: datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC),
    date: date(2025, 3, 14),
    str: "sample",
    int: 2,
}


def _sample(annotation: Any, full: bool) -> Any:
    """A valid value of a contract field's type; `full` fills optionals and lists."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return args[-1] if full else args[0]
    if origin in (Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if not full and len(present) < len(args):
            return None
        return _sample(present[0], full)
    if origin is tuple:
        return (_sample(args[0], full),) if full else ()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _sample(f.annotation, full) for name, f in annotation.model_fields.items()}
    return SAMPLES[annotation]


def example(cls: type[IntegrationEvent], full: bool) -> IntegrationEvent:
    values = {
        name: _sample(f.annotation, full)
        for name, f in cls.model_fields.items()
        if full or f.is_required()
    }
    return cls.model_validate({**values, "source_position": 7, "producer": producer_of(cls)})


def published(event: IntegrationEvent) -> dict[str, Any]:
    """The document the relay sends: the wire form, linked into a partition's chain."""
    return link(event.to_wire(), GENESIS)


@pytest.mark.parametrize("full", [True, False], ids=["all-fields", "required-only"])
@pytest.mark.parametrize("cls", contracts(), ids=lambda c: message_id(c))
def test_each_topic_s_payload_schema_accepts_a_real_event(
    document: dict[str, Any], validate: Validate, cls: type[IntegrationEvent], full: bool
) -> None:
    wire = published(example(cls, full))
    assert parse_event(wire).to_wire() == wire  # a real event, as consumers read it
    channel = document["channels"][channel_id(topic_of(cls))]
    message_ref = channel["messages"][message_id(cls)]["$ref"]
    assert validate(f"{message_ref[1:]}/payload", wire) == []


PROTECTING = [c for c in contracts() if c.protected_fields]


@pytest.mark.parametrize("cls", PROTECTING, ids=lambda c: message_id(c))
def test_each_payload_schema_accepts_the_event_as_protected_on_the_wire(
    document: dict[str, Any], validate: Validate, cls: type[IntegrationEvent]
) -> None:
    wire = link(protect(example(cls, full=True).to_wire(), cls.protected_fields, KEYS), GENESIS)
    pointer = f"/components/messages/{message_id(cls)}/payload"
    assert not set(cls.protected_fields) & set(wire) and validate(pointer, wire) == []
    schema = document["components"]["schemas"][message_id(cls)]
    assert schema["x-protected-fields"] == list(cls.protected_fields)
    assert "AES-256-GCM" in schema["properties"]["protected"]["description"]


def test_the_sensitive_values_of_the_contracts_are_protected() -> None:
    protected = {c.event_type: set(c.protected_fields) for c in contracts()}
    assert {"sns_number", "full_name", "adult_on"} <= protected["CitizenRegistered"]
    assert {"allergies", "chronic_medications"} <= protected["HealthSummaryUpdated"]
    assert {"category", "reason"} <= protected["ExemptionDecided"]
    assert {"specialty"} <= protected["ReferralRegistered"]
    assert not protected["ConsentGranted"] and not protected["RecordReadByProxy"]


@pytest.mark.parametrize("cls", contracts(), ids=lambda c: message_id(c))
def test_each_payload_schema_rejects_the_wrong_contract(
    validate: Validate, cls: type[IntegrationEvent]
) -> None:
    wire = published(example(cls, full=True))
    pointer = f"/components/messages/{message_id(cls)}/payload"
    assert validate(pointer, {**wire, "event_type": "SomethingElse"})
    assert validate(pointer, {**wire, "schema_version": cls.schema_version + 1})
    assert validate(pointer, {k: v for k, v in wire.items() if k != "citizen_id"})


@pytest.mark.parametrize("cls", contracts(), ids=lambda c: message_id(c))
def test_each_header_schema_accepts_the_relay_s_headers(
    validate: Validate, cls: type[IntegrationEvent]
) -> None:
    wire = published(example(cls, full=True))
    with TracerProvider().get_tracer("test").start_as_current_span("publish"):
        headers = inject_trace_headers(
            [("event_type", wire["event_type"].encode()), ("event_id", wire["event_id"].encode())]
        )
    carrier = {name: value.decode() for name, value in headers}
    assert "traceparent" in carrier
    pointer = f"/components/messages/{message_id(cls)}/headers"
    assert validate(pointer, carrier) == []
    assert validate(pointer, {**carrier, "event_type": "SomethingElse"})


def test_checkpoints_and_keys_match_their_schemas(validate: Validate) -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = signed_checkpoint(
        key, producer="records", topic=events_topic("records"), partition=2, head=Head("ab" * 32, 5)
    )
    assert validate("/components/messages/Checkpoint/payload", checkpoint) == []
    assert (
        validate(
            "/components/messages/Checkpoint/bindings/kafka/key", f"{events_topic('records')}:2"
        )
        == []
    )
    verification = public_key_document("records", key.public_key())
    assert validate("/components/messages/VerificationKey/payload", verification) == []
    assert (
        validate("/components/messages/VerificationKey/bindings/kafka/key", verification["key_id"])
        == []
    )


class _Broker:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def publish(self, message: Any, **kwargs: Any) -> None:
        self.sent.append({"message": message, **kwargs})


async def test_a_dead_letter_matches_its_channel_and_schema(
    document: dict[str, Any], validate: Validate
) -> None:
    consumer = IdempotentConsumer.__new__(IdempotentConsumer)  # no broker subscription
    broker = _Broker()
    consumer.broker, consumer.group_id = broker, "records"
    citizen = "8d3e6f1a-2b4c-4d5e-9f60-718293a4b5c6"
    record = types.SimpleNamespace(
        topic=events_topic("identity"),
        partition=1,
        offset=41,
        key=citizen.encode(),
        value=b"{not json",
    )
    await consumer.dead_letter(record, "not JSON: Expecting property name", attempts=1)
    [sent] = broker.sent
    channel = document["channels"]["deadLetters"]
    address = re.fullmatch(r"(\w+)\.(.+)\.dlq", sent["topic"])
    assert address is not None, sent["topic"]
    group, topic = address.groups()
    assert group in channel["parameters"]["group"]["enum"]
    assert topic in channel["parameters"]["topic"]["enum"]
    assert validate("/components/messages/DeadLetterEntry/payload", sent["message"]) == []
    assert validate("/components/messages/DeadLetterEntry/headers", sent["headers"]) == []
    assert (
        validate("/components/messages/DeadLetterEntry/bindings/kafka/key", sent["key"].decode())
        == []
    )
