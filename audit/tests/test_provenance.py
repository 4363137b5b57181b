"""`rse-audit compare` looks every change of records' consent register up on consent.events.

The attacker: an insider with write access to records' event store (not to Kafka) who
writes consents into a citizen's register to open the record - with no source, with the
position of a real grant but other terms, or with a made-up chain hash. records' real
consumer fills the register from the real topic; only its changes are vouched for.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rse_audit.provenance import (
    NOT_ON_CONSENT_EVENTS,
    entries_not_on_consent_events,
    records_cipher,
    register_changes,
)
from rse_audit.replay import replay
from rse_records.application import RecordsApplication
from rse_records.config import Settings
from rse_records.domain.consent_register import ConsentRegister, ConsentSource
from rse_shared.contracts import ConsentGranted, ConsentRevoked, IntegrationEvent
from rse_shared.eventstore import StateCipher, in_thread
from rse_shared.settings import ServiceSettings
from rse_shared.testing import create_topic, eventually, feeding, publish

pytestmark = pytest.mark.integration


T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def envelope(citizen: uuid.UUID, position: int) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": T0,
        "producer": "consent",
        "citizen_id": citizen,
        "source_position": position,
    }


def granted(citizen: uuid.UUID, consent_id: uuid.UUID, position: int) -> ConsentGranted:
    return ConsentGranted(
        **envelope(citizen, position),
        consent_id=consent_id,
        grantee_kind="professional",
        grantee_id="P-1",
        categories=("vaccinations",),
        purpose="treatment",
        valid_from=T0,
        valid_until=None,
    )


def records_store(database: str) -> tuple[str, StateCipher]:
    """records' event store, and what opens its sealed events (the auditor's key access)."""
    settings = Settings(postgres_db=database)
    keys = records_cipher(settings.keys_env()["RSE_STORE_KEY"], settings.data_keyring("auditor"))
    return settings.postgres_conninfo(), keys


def insert(
    app: RecordsApplication,
    citizen: uuid.UUID,
    consent_id: uuid.UUID,
    source: ConsentSource | None,
    categories: tuple[Any, ...] = ("vaccinations",),
) -> None:
    """The insider: a grant saved straight into records' event store."""
    register = app.consent_register(citizen) or ConsentRegister(citizen)
    register.grant(consent_id, "all_sns", None, list(categories), "treatment", T0, None, source)
    app.save(register)


async def test_only_the_changes_consent_events_vouches_for_pass(
    infra: ServiceSettings, fresh_database: str, tmp_path: Path
) -> None:
    ana, rui = uuid.uuid4(), uuid.uuid4()
    real, ended = uuid.uuid4(), uuid.uuid4()
    published: list[IntegrationEvent] = [
        granted(ana, real, 1),
        granted(rui, ended, 1),
        ConsentRevoked(**envelope(rui, 2), consent_id=ended, revoked_at=T0 + timedelta(1)),
    ]
    topic = await create_topic(infra.kafka_bootstrap, "consent")
    app = RecordsApplication(env=Settings(postgres_db=fresh_database).eventstore_env())
    try:
        async with feeding(infra.kafka_bootstrap, app, [topic]):
            await publish(infra.kafka_bootstrap, topic, *published)

            async def consumed() -> bool:
                register = await in_thread(app.consent_register, rui)
                return register is not None and ended in register.ended

            await eventually(consumed)
        [genuine] = [
            c for c in register_changes(*records_store(fresh_database)) if c.consent_id == str(real)
        ]
        source: ConsentSource = genuine.state["source"]
        assert source["topic"] == topic and source["chain_hash"]
        no_source, widened, other_hash, nowhere = uuid.uuid4(), real, uuid.uuid4(), uuid.uuid4()
        insert(app, ana, no_source, None)
        insert(app, ana, nowhere, {**source, "offset": 999})
        insert(app, rui, widened, source, categories=("vaccinations", "care_plan"))
        insert(app, ana, other_hash, {**source, "chain_hash": "0" * 64})
    finally:
        app.close()
    path = tmp_path / "history.sqlite"
    await replay(infra.kafka_bootstrap, [topic], path)
    changes = register_changes(*records_store(fresh_database))
    with sqlite3.connect(path) as db:
        found = entries_not_on_consent_events(db, changes)
    assert {f.kind for f in found} == {NOT_ON_CONSENT_EVENTS}
    assert sorted((f.key, f.replayed) for f in found) == sorted(
        [
            (str(no_source), "names no consent.events record"),
            (str(nowhere), "no consent change of consent.events is at the position it names"),
            (str(widened), "the record at that position says something else"),
            (str(other_hash), "the record at that position has another chain hash"),
        ]
    )
