"""The `audit.checkpoints` and `audit.keys` channels: every relay's signed chain heads and
verification keys, read by `rse-audit verify`."""

from __future__ import annotations

from pydantic import BaseModel

from rse_shared import topics as topology
from rse_shared.asyncapi.parts import Sections, channel, channel_id, model_message, operation
from rse_shared.contracts.audit import Checkpoint, VerificationKey

PARTITION_KEY = {
    "type": "string",
    "pattern": "^.+:[0-9]+$",
    "description": "`<topic>:<partition>` of the checkpointed chain.",
}
KEY_ID = {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "The key id."}


def _add_audit_topic(
    sections: Sections, topic: str, model: type[BaseModel], what: str, audit: str
) -> None:
    name = model.__name__
    cid = channel_id(topic)
    sections.channels[cid] = channel(
        topic, [name], f"The relays' {what} (rse_shared.chain); one partition."
    )
    writers = next(t.writers for t in topology.audit_topics() if t.name == topic)
    for producer in sorted(writers):
        sections.operations[f"{producer}_send_{cid}"] = operation(
            "send", cid, [name], f"The {producer} outbox relay publishes its {what}."
        )
    sections.operations[f"audit_receive_{cid}"] = operation("receive", cid, [name], audit)


def add_checkpoints(sections: Sections) -> None:
    """`audit.checkpoints`: one Checkpoint per chain head a relay signs."""
    sections.messages["Checkpoint"] = model_message(sections.schemas, Checkpoint, PARTITION_KEY)
    _add_audit_topic(
        sections,
        topology.CHECKPOINTS_TOPIC,
        Checkpoint,
        "signed chain heads",
        "`rse-audit verify` checks each chain against its signed heads.",
    )


def add_keys(sections: Sections) -> None:
    """`audit.keys`: each relay's VerificationKey."""
    sections.messages["VerificationKey"] = model_message(sections.schemas, VerificationKey, KEY_ID)
    _add_audit_topic(
        sections,
        topology.KEYS_TOPIC,
        VerificationKey,
        "Ed25519 verification keys",
        "`rse-audit verify` checks the checkpoints' signatures with them.",
    )
