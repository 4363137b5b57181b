"""`rse-audit verify`: every partition's hash chain and every signed checkpoint."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rse_audit.kafka_log import Record, read_partitions, read_topic
from rse_shared.chain import Break, Verified, check_checkpoints, verify_partition
from rse_shared.topics import CHECKPOINTS_TOPIC, KEYS_TOPIC


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


KeyDocument = dict[str, str]
"""A producer's verification key: {"producer", "key_id", "public_key"} (as on audit.keys)."""


async def published_keys(bootstrap: str) -> list[KeyDocument]:
    """The keys the relays published on audit.keys (anyone who may write there could add one:
    pin the keys with `rse-audit keys` once, then `verify --keys`)."""
    return [
        {k: str(r.document[k]) for k in ("producer", "key_id", "public_key")}
        async for r in read_topic(bootstrap, KEYS_TOPIC)
        if r.document and {"producer", "key_id", "public_key"} <= r.document.keys()
    ]


def load_keys(path: Path) -> list[KeyDocument]:
    """Pinned keys from a JSON file written by `rse-audit keys --out`."""
    documents = json.loads(path.read_text())
    if not isinstance(documents, list) or not all(
        isinstance(d, dict) and {"producer", "key_id", "public_key"} <= d.keys() for d in documents
    ):
        raise ValueError(f"{path}: expected a list of {{producer, key_id, public_key}}")
    return [{k: str(d[k]) for k in ("producer", "key_id", "public_key")} for d in documents]


def foreign_signature(
    checkpoints: list[dict[str, Any]], producers: dict[str, str], last_offset: int
) -> Break | None:
    """A checkpoint signed with a key that belongs to another producer."""
    for checkpoint in checkpoints:
        owner = producers.get(str(checkpoint.get("key_id")))
        if owner is not None and owner != checkpoint.get("producer"):
            return Break(
                last_offset,
                "checkpoint",
                f"checkpoint of {checkpoint.get('producer')} signed with {owner}'s key",
            )
    return None


async def checkpoints_by_partition(bootstrap: str) -> dict[tuple[str, int], list[dict[str, Any]]]:
    found: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    async for record in read_topic(bootstrap, CHECKPOINTS_TOPIC):
        doc = record.document
        if doc and "topic" in doc:
            found[(str(doc["topic"]), int(doc.get("partition", -1)))].append(doc)
    return found


def unchecked(
    records: list[Record],
    result: Verified,
    signed: list[dict[str, Any]],
    interval: float,
    now: float,
) -> Break | None:
    """A chain no signed checkpoint vouches for, or one that grew past its last checkpoint
    longer ago than twice the relays' checkpoint interval: without this, whoever can
    write to Kafka could starve the checkpoints and rewrite everything after the last one.
    """
    if not result.hashes:
        return None
    if not signed:
        return Break(
            records[0].offset, "unchecked", f"{result.chained} records and no signed checkpoint"
        )
    covered = max(int(c.get("count", 0)) for c in signed)
    if covered >= len(result.hashes):
        return None
    first = result.hashes[covered]
    record = next(r for r in records if r.document and r.document.get("chain_hash") == first)
    age = now - record.timestamp_ms / 1000
    if age < -interval:  # a producer's clock cannot buy unsigned records time
        return Break(
            record.offset,
            "unchecked",
            "records past the last signed checkpoint are stamped in the future",
        )
    if age > 2 * interval:
        return Break(
            record.offset,
            "unchecked",
            f"{len(result.hashes) - covered} records past the last signed checkpoint, "
            f"the first {age:.0f}s old (checkpoints are due every {interval:g}s)",
        )
    return None


async def verify(
    bootstrap: str,
    topics: list[str],
    checkpoints_of: dict[str, str] | None = None,
    pinned: list[KeyDocument] | None = None,
    checkpoint_interval: float = 30.0,
) -> tuple[Summary, list[Finding]]:
    """Verify `topics`; `checkpoints_of` maps a copied topic to the one its checkpoints name;
    `pinned` keys, if given, are the only ones trusted (else those on audit.keys); every
    chain must be vouched for by checkpoints no staler than twice `checkpoint_interval`."""
    documents = pinned if pinned is not None else await published_keys(bootstrap)
    keys = {d["key_id"]: d["public_key"] for d in documents}
    producers = {d["key_id"]: d["producer"] for d in documents}
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
                broken = (
                    foreign_signature(signed, producers, last)
                    or check_checkpoints(result, signed, keys, last_offset=last)
                    or unchecked(records, result, signed, checkpoint_interval, time.time())
                )
            if broken is not None:
                findings.append(Finding(topic, partition, broken))
    return summary, findings
