"""The dead-letter channel: `<group>.<topic>.dlq` for every (consumer group, consumed topic)
pair of the topology."""

from __future__ import annotations

from typing import Any

from rse_shared import topics as topology
from rse_shared.asyncapi.parts import (
    CITIZEN_KEY,
    Sections,
    channel,
    channel_id,
    model_message,
    operation,
)
from rse_shared.contracts.audit import DeadLetterEntry

DLQ_ADDRESS = topology.dlq_topic("{group}", "{topic}")
"""`rse_shared.topics.dlq_topic(group, topic)`, as an AsyncAPI channel address expression."""

HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["x-error", "x-original-topic"],
    "properties": {
        "x-error": {
            "type": "string",
            "maxLength": 500,
            "description": "The error, truncated to 500 characters.",
        },
        "x-original-topic": {"type": "string", "description": "The topic it was read from."},
    },
}


def _addresses(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"`{topology.dlq_topic(g, t)}`" for g, t in pairs)


def add_dead_letters(sections: Sections) -> None:
    """One parameterised channel; each consumer group sends its dead letters to it."""
    pairs = topology.consumer_pairs()
    groups = sorted({g for g, _ in pairs})
    sections.messages["DeadLetterEntry"] = model_message(
        sections.schemas,
        DeadLetterEntry,
        {**CITIZEN_KEY, "description": "The original message's key (the citizen id)."},
        headers=HEADERS,
    )
    dlq = channel_id("dead.letters")
    sections.channels[dlq] = channel(
        DLQ_ADDRESS,
        ["DeadLetterEntry"],
        f"Dead letters of consumer group `group` for `topic` (rse_shared.topics."
        f"dlq_topic): a message that is not a valid contract, or that still fails after "
        f"the retries. The partition keeps flowing. The topics that exist: "
        f"{_addresses(pairs)}.",
        parameters={
            "group": {"enum": groups, "description": "The consumer group (the service)."},
            "topic": {
                "enum": sorted({t for _, t in pairs}),
                "description": "The topic it consumes.",
            },
        },
    )
    for group in groups:
        sections.operations[f"{group}_send_{dlq}"] = operation(
            "send",
            dlq,
            ["DeadLetterEntry"],
            f"The {group} consumer dead-letters to "
            f"{_addresses([(g, t) for g, t in pairs if g == group])}.",
        )
