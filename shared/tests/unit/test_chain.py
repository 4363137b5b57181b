"""The hash chain finds the first tampered record of a partition, and what was done."""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

import pytest
from aiokafka.partitioner import murmur2 as kafkas
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rse_shared.chain import (
    GENESIS,
    Head,
    check_checkpoints,
    link,
    murmur2,
    partition_for,
    public_key_document,
    signed_checkpoint,
    verify_partition,
)


def a_partition(n: int = 6) -> list[tuple[int, dict[str, Any]]]:
    records, prev = [], GENESIS
    for i in range(n):
        doc = link({"event_id": f"e{i}", "event_type": "ConsentGranted", "n": i}, prev)
        prev = doc["chain_hash"]
        records.append((i, doc))
    return records


def renumber(records: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, doc) for i, (_, doc) in enumerate(records)]


def test_an_untouched_partition_verifies() -> None:
    result = verify_partition(a_partition())
    assert result.broken is None and result.chained == 6


def test_a_republished_copy_is_not_tampering() -> None:
    records = a_partition()
    replayed = renumber(records[:4] + copy.deepcopy(records[2:4]) + records[4:])
    result = verify_partition(replayed)
    assert result.broken is None and result.duplicates == 2


def test_an_edited_record_is_found_at_its_offset() -> None:
    records = a_partition()
    records[3][1]["n"] = 99
    broken = verify_partition(records).broken
    assert broken is not None and (broken.offset, broken.kind) == (3, "edited")


def test_a_deleted_record_is_found_where_the_chain_breaks() -> None:
    broken = verify_partition(renumber([r for r in a_partition() if r[0] != 2])).broken
    assert broken is not None and (broken.offset, broken.kind) == (2, "deleted")


def test_two_swapped_records_are_found_as_reordered() -> None:
    records = a_partition()
    records[2], records[3] = records[3], records[2]
    broken = verify_partition(renumber(records)).broken
    assert broken is not None and (broken.offset, broken.kind) == (2, "reordered")


def test_a_forged_record_with_a_valid_hash_is_found_as_inserted() -> None:
    records = a_partition()
    forged = link(
        {"event_id": "forged", "event_type": "ConsentGranted", "n": -1}, records[2][1]["chain_hash"]
    )
    tampered = renumber([*records[:3], (0, forged), *records[3:]])
    broken = verify_partition(tampered).broken
    assert broken is not None and (broken.offset, broken.kind) == (3, "inserted")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def keys_of(key: Ed25519PrivateKey) -> dict[str, str]:
    document = public_key_document("consent", key.public_key())
    return {document["key_id"]: document["public_key"]}


def test_an_authentic_checkpoint_of_the_chain_passes(key: Ed25519PrivateKey) -> None:
    result = verify_partition(a_partition())
    checkpoint = signed_checkpoint(
        key, producer="consent", topic="consent.events", partition=0, head=Head(result.hashes[3], 4)
    )
    assert check_checkpoints(result, [checkpoint], keys_of(key), last_offset=5) is None


def test_a_forged_checkpoint_fails(key: Ed25519PrivateKey) -> None:
    result = verify_partition(a_partition())
    checkpoint = signed_checkpoint(
        key, producer="consent", topic="consent.events", partition=0, head=Head(result.hashes[3], 4)
    )
    forged = {**checkpoint, "count": 3}
    broken = check_checkpoints(result, [forged], keys_of(key), last_offset=5)
    assert broken is not None and broken.kind == "checkpoint"
    other_key = Ed25519PrivateKey.generate()
    resigned = signed_checkpoint(
        other_key,
        producer="consent",
        topic="consent.events",
        partition=0,
        head=Head(result.hashes[2], 3),
    )
    assert check_checkpoints(result, [resigned], keys_of(key), last_offset=5) is not None


def test_records_deleted_from_the_end_are_caught_by_the_last_checkpoint(
    key: Ed25519PrivateKey,
) -> None:
    full = verify_partition(a_partition())
    checkpoint = signed_checkpoint(
        key, producer="consent", topic="consent.events", partition=0, head=Head(full.hashes[5], 6)
    )
    truncated = verify_partition(a_partition()[:4])
    broken = check_checkpoints(truncated, [checkpoint], keys_of(key), last_offset=3)
    assert broken is not None and broken.kind == "deleted"


def test_partitions_are_kafkas_default_partitioners_for_every_key_length() -> None:
    """The chain is computed for the partition the broker's partitioner would pick: our
    murmur2 must agree with Kafka's (aiokafka's port of the Java client) on every key."""
    rng = random.Random(13)
    keys = [rng.randbytes(n) for n in range(0, 80) for _ in range(25)]
    keys += [str(uuid.uuid4()).encode() for _ in range(500)]
    for key in keys:
        assert murmur2(key) == kafkas(key), key
        assert partition_for(key, 6) == (kafkas(key) & 0x7FFFFFFF) % 6
