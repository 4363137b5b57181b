"""`rse-audit verify`: every partition's hash chain and every signed checkpoint."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rse_audit.kafka_log import read_partitions, read_topic
from rse_shared.chain import (
    CHECKPOINTS_TOPIC,
    KEYS_TOPIC,
    Break,
    check_checkpoints,
    verify_partition,
)


@dataclass(frozen=True)
class Finding:
    """A broken partition: topic, partition and the first broken link."""

    topic: str
    partition: int
    broken: Break

    def __str__(self) -> str:
        b = self.broken
        return f"{self.topic} partition {self.partition} offset {b.offset}: {b.kind} ({b.detail})"


@dataclass
class Summary:
    partitions: int = 0
    records: int = 0
    duplicates: int = 0
    checkpoints: int = 0


async def verification_keys(bootstrap: str) -> dict[str, str]:
    return {r.document["key_id"]: r.document["public_key"]
            async for r in read_topic(bootstrap, KEYS_TOPIC)
            if r.document and "key_id" in r.document}


async def checkpoints_by_partition(bootstrap: str) -> dict[tuple[str, int], list[dict[str, Any]]]:
    found: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    async for record in read_topic(bootstrap, CHECKPOINTS_TOPIC):
        doc = record.document
        if doc and "topic" in doc:
            found[(str(doc["topic"]), int(doc.get("partition", -1)))].append(doc)
    return found


async def verify(bootstrap: str, topics: list[str],
                 checkpoints_of: dict[str, str] | None = None) -> tuple[Summary, list[Finding]]:
    """Verify `topics`; `checkpoints_of` maps a copied topic to the one its checkpoints name."""
    keys = await verification_keys(bootstrap)
    checkpoints = await checkpoints_by_partition(bootstrap)
    summary, findings = Summary(), []
    for topic in topics:
        async for partition, records in read_partitions(bootstrap, topic):
            summary.partitions += 1
            summary.records += len(records)
            chain = [(r.offset, r.document or {}) for r in records]
            result = verify_partition(chain)
            summary.duplicates += result.duplicates
            broken = result.broken
            if broken is None:
                signed = checkpoints.get(((checkpoints_of or {}).get(topic, topic), partition), [])
                summary.checkpoints += len(signed)
                last = records[-1].offset if records else 0
                broken = check_checkpoints(result, signed, keys, last_offset=last)
            if broken is not None:
                findings.append(Finding(topic, partition, broken))
    return summary, findings
