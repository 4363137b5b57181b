"""`rse-audit verify` on the real Kafka: a tampered copy of a log fails at the exact offset."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rse_audit.cli import main
from rse_audit.verify import verify
from rse_shared.chain import GENESIS, Head, link, public_key_document, signed_checkpoint
from rse_shared.kafka import ADMIN, AUDITOR, tool_options, tool_settings
from rse_shared.relay import ensure_topics
from rse_shared.settings import ServiceSettings
from rse_shared.testing import create_topic
from rse_shared.topics import CHECKPOINTS_TOPIC, KEYS_TOPIC

pytestmark = pytest.mark.integration
Doc = dict[str, Any]


def a_chain(n: int = 8) -> list[Doc]:
    docs, prev = [], GENESIS
    for i in range(n):
        doc = link(
            {
                "event_id": str(uuid.uuid4()),
                "event_type": "ConsentGranted",
                "citizen_id": str(uuid.uuid4()),
                "n": i,
            },
            prev,
        )
        prev = doc["chain_hash"]
        docs.append(doc)
    return docs


async def produce(bootstrap: str, topic: str, docs: list[Doc], partition: int = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    try:
        for doc in docs:
            await producer.send_and_wait(topic, json.dumps(doc).encode(), partition=partition)
    finally:
        await producer.stop()


@pytest.fixture
async def original(infra: ServiceSettings) -> tuple[str, list[Doc], Ed25519PrivateKey]:
    """A chained log on partition 0 of a fresh topic, with a signed checkpoint of its head."""
    bootstrap = infra.kafka_bootstrap
    await ensure_topics(bootstrap, [CHECKPOINTS_TOPIC, KEYS_TOPIC], options=tool_options(ADMIN))
    topic, docs = await create_topic(bootstrap, "orig"), a_chain()
    key = Ed25519PrivateKey.generate()
    await produce(bootstrap, topic, docs)
    await sign_and_publish(bootstrap, key, topic, docs)
    return topic, docs, key


async def sign_and_publish(
    bootstrap: str, key: Ed25519PrivateKey, topic: str, docs: list[Doc]
) -> None:
    """Publish the key (as consent's) and a checkpoint it signs over `docs`' head."""
    keydoc = public_key_document("consent", key.public_key())
    checkpoint = signed_checkpoint(
        key,
        producer="consent",
        topic=topic,
        partition=0,
        head=Head(docs[-1]["chain_hash"], len(docs)),
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    await producer.send_and_wait(KEYS_TOPIC, json.dumps(keydoc).encode())
    await producer.send_and_wait(CHECKPOINTS_TOPIC, json.dumps(checkpoint).encode())
    await producer.stop()


def edit(docs: list[Doc]) -> list[Doc]:
    docs[3] = {**docs[3], "n": 999}
    return docs


def delete(docs: list[Doc]) -> list[Doc]:
    return docs[:3] + docs[4:]


def swap(docs: list[Doc]) -> list[Doc]:
    docs[3], docs[4] = docs[4], docs[3]
    return docs


def insert(docs: list[Doc]) -> list[Doc]:
    forged = link(
        {"event_id": "forged", "event_type": "ConsentGranted", "n": -1}, docs[2]["chain_hash"]
    )
    return [*docs[:3], forged, *docs[3:]]


@pytest.mark.parametrize(
    ("tamper", "offset", "kind"),
    [
        (edit, 3, "edited"),
        (delete, 3, "deleted"),
        (swap, 3, "reordered"),
        (insert, 3, "inserted"),
    ],
)
async def test_a_tampered_copy_fails_at_exactly_that_offset(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
    tamper: Callable[[list[Doc]], list[Doc]],
    offset: int,
    kind: str,
) -> None:
    topic, docs, _ = original
    copy = await create_topic(infra.kafka_bootstrap, "copy")
    await produce(infra.kafka_bootstrap, copy, tamper(list(docs)))
    _, findings = await verify(infra.kafka_bootstrap, [copy], {copy: topic})
    assert [(f.partition, f.broken.offset, f.broken.kind) for f in findings] == [(0, offset, kind)]


async def test_the_untouched_log_and_an_exact_copy_pass(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    topic, docs, _ = original
    copy = await create_topic(infra.kafka_bootstrap, "copy")
    await produce(infra.kafka_bootstrap, copy, docs)
    summary, findings = await verify(infra.kafka_bootstrap, [topic, copy], {copy: topic})
    assert findings == [] and summary.checkpoints == 2


async def test_a_forged_checkpoint_fails(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    _, docs, _ = original
    copy = await create_topic(infra.kafka_bootstrap, "copy")
    shortened = docs[:5]
    await produce(infra.kafka_bootstrap, copy, shortened)
    forged = signed_checkpoint(
        Ed25519PrivateKey.generate(),
        producer="consent",
        topic=copy,
        partition=0,
        head=Head(shortened[-1]["chain_hash"], 5),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap, acks="all", **tool_options(ADMIN)
    )
    await producer.start()
    await producer.send_and_wait(CHECKPOINTS_TOPIC, json.dumps(forged).encode())
    await producer.stop()
    _, findings = await verify(infra.kafka_bootstrap, [copy])
    assert [f.broken.kind for f in findings] == ["checkpoint"]


async def test_pinned_keys_refuse_a_checkpoint_signed_with_a_key_published_later(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    topic, docs, key = original
    pinned = [public_key_document("consent", key.public_key())]
    copy = await create_topic(infra.kafka_bootstrap, "copy")
    shortened = docs[:5]
    await produce(infra.kafka_bootstrap, copy, shortened)
    # What someone able to write to Kafka could do: publish a key of their own and a
    # checkpoint it signs over a shortened copy of the log.
    await sign_and_publish(infra.kafka_bootstrap, Ed25519PrivateKey.generate(), copy, shortened)
    # Trusting whatever is on audit.keys, the forgery passes: that is why keys are pinned.
    _, trusting = await verify(infra.kafka_bootstrap, [copy])
    assert trusting == []
    _, findings = await verify(infra.kafka_bootstrap, [copy], pinned=pinned)
    assert [f.broken.kind for f in findings] == ["checkpoint"]
    # The genuine log passes with the pinned key.
    summary, genuine = await verify(infra.kafka_bootstrap, [topic], pinned=pinned)
    assert genuine == [] and summary.checkpoints == 1


async def test_a_checkpoint_signed_with_another_producers_key_fails(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    topic, _, key = original
    pinned = [public_key_document("records", key.public_key())]  # records' key, not consent's
    _, findings = await verify(infra.kafka_bootstrap, [topic], pinned=pinned)
    assert [f.broken.kind for f in findings] == ["checkpoint"]
    assert "records's key" in findings[0].broken.detail


def test_keys_are_exported_then_pinned_from_the_command_line(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic, _, key = original
    keys = tmp_path / "keys.json"
    bootstrap = ["--bootstrap", infra.kafka_bootstrap]
    assert main([*bootstrap, "keys", "--out", str(keys)]) == 0
    exported = json.loads(keys.read_text())
    assert public_key_document("consent", key.public_key()) in exported
    assert main([*bootstrap, "verify", "--topic", topic, "--keys", str(keys)]) == 0
    assert "OK" in capsys.readouterr().out
    keys.write_text(
        json.dumps([public_key_document("consent", Ed25519PrivateKey.generate().public_key())])
    )
    assert main([*bootstrap, "verify", "--topic", topic, "--keys", str(keys)]) == 1


async def produce_at(bootstrap: str, topic: str, docs: list[Doc], timestamp_ms: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    try:
        for doc in docs:
            await producer.send_and_wait(
                topic, json.dumps(doc).encode(), partition=0, timestamp_ms=timestamp_ms
            )
    finally:
        await producer.stop()


async def test_a_chain_no_checkpoint_vouches_for_fails(infra: ServiceSettings) -> None:
    # The attacker rewrites a whole partition and keeps its checkpoints off audit.checkpoints.
    topic = await create_topic(infra.kafka_bootstrap, "unsigned")
    await produce(infra.kafka_bootstrap, topic, a_chain(4))
    _, findings = await verify(infra.kafka_bootstrap, [topic])
    assert [(f.partition, f.broken.offset, f.broken.kind) for f in findings] == [
        (0, 0, "unchecked")
    ]


async def test_records_left_unsigned_past_twice_the_interval_fail_at_the_first_of_them(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    # The attacker appends to a genuine chain and starves the checkpoints from then on.
    topic, docs, _ = original
    extra = a_chain_after(docs[-1]["chain_hash"], 3)
    hour_ago = int((time.time() - 3600) * 1000)
    await produce_at(infra.kafka_bootstrap, topic, extra, hour_ago)
    _, findings = await verify(infra.kafka_bootstrap, [topic], checkpoint_interval=30)
    assert [(f.broken.offset, f.broken.kind) for f in findings] == [(len(docs), "unchecked")]
    assert "3 records past the last signed checkpoint" in findings[0].broken.detail


async def test_records_stamped_in_the_future_do_not_buy_time(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    topic, docs, _ = original
    # The broker itself refuses stamps more than an hour ahead; within that hour, none helps.
    soon = int((time.time() + 50 * 60) * 1000)
    await produce_at(infra.kafka_bootstrap, topic, a_chain_after(docs[-1]["chain_hash"], 2), soon)
    _, findings = await verify(infra.kafka_bootstrap, [topic], checkpoint_interval=30)
    assert [f.broken.kind for f in findings] == ["unchecked"]


async def test_records_newer_than_the_next_checkpoint_is_due_pass(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
) -> None:
    topic, docs, _ = original
    await produce(infra.kafka_bootstrap, topic, a_chain_after(docs[-1]["chain_hash"], 2))
    _, findings = await verify(infra.kafka_bootstrap, [topic], checkpoint_interval=30)
    assert findings == []


def test_production_verification_refuses_unpinned_keys(
    infra: ServiceSettings,
    original: tuple[str, list[Doc], Ed25519PrivateKey],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic, _, _ = original
    bootstrap = ["--bootstrap", infra.kafka_bootstrap]
    assert main([*bootstrap, "verify", "--topic", topic]) == 0
    assert "UNPINNED" in capsys.readouterr().out
    # The auditor's own password and the CA, as a production deployment would hand them over.
    auditor = tool_settings(AUDITOR)
    monkeypatch.setenv("RSE_KAFKA_PASSWORD", auditor.kafka_secret())
    monkeypatch.setenv("RSE_KAFKA_CA_FILE", str(auditor.kafka_ca_file))
    monkeypatch.setenv("RSE_ENVIRONMENT", "production")
    monkeypatch.setenv("RSE_POSTGRES_PASSWORD", "not the development one")
    # Its key settings too: production settings refuse to load without them.
    monkeypatch.setenv("RSE_DATA_KEK_FILE", str(infra.data_kek_file))
    monkeypatch.setenv("RSE_STORE_KEY_FILE", str(infra.store_key_file))
    assert main([*bootstrap, "verify", "--topic", topic]) == 2
    assert "must be pinned" in capsys.readouterr().err
    assert main([*bootstrap, "verify", "--topic", topic, "--unpinned"]) == 0


def a_chain_after(prev: str, n: int) -> list[Doc]:
    docs = []
    for i in range(n):
        doc = link(
            {
                "event_id": str(uuid.uuid4()),
                "event_type": "ConsentGranted",
                "citizen_id": str(uuid.uuid4()),
                "n": 100 + i,
            },
            prev,
        )
        prev = doc["chain_hash"]
        docs.append(doc)
    return docs
