"""Every change of the consent register names the consent.events record it came from."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent, Tracking

from rse_records.application import RecordsApplication
from rse_records.domain.consent_register import ConsentRegister
from rse_shared.chain import GENESIS, chain_hash, link
from rse_shared.contracts import (
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    IntegrationEvent,
    parse_event,
)
from rse_shared.testing import ManualClock

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TOPIC = "consent.events"


@pytest.fixture
def app() -> RecordsApplication:
    return RecordsApplication(clock=ManualClock(NOW))


def envelope(citizen_id: uuid.UUID, position: int) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": NOW,
        "producer": "consent",
        "citizen_id": citizen_id,
        "source_position": position,
    }


def a_grant(citizen_id: uuid.UUID, consent_id: uuid.UUID, position: int = 1) -> ConsentGranted:
    return ConsentGranted(
        **envelope(citizen_id, position),
        consent_id=consent_id,
        grantee_kind="professional",
        grantee_id="P-1",
        categories=("vaccinations",),
        purpose="treatment",
        valid_from=NOW - timedelta(days=1),
        valid_until=None,
    )


def as_read(event: IntegrationEvent, offset: int, partition: int = 2) -> IntegrationEvent:
    """The event as the consumer's intake hands it over: chained, and knowing its record."""
    document = link(event.to_wire(), GENESIS)
    return parse_event(document).read_from(TOPIC, partition, offset)


def feed(app: RecordsApplication, event: IntegrationEvent, offset: int) -> None:
    app.process_event(event, Tracking(f"{TOPIC}:2", offset + 1))  # type: ignore[arg-type]


def register_events(app: RecordsApplication, citizen_id: uuid.UUID) -> list[Any]:
    return list(app.events.get(ConsentRegister.create_id(citizen_id)))


def test_a_grant_a_revocation_and_an_expiry_each_name_their_record(
    app: RecordsApplication,
) -> None:
    citizen, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    fed = [
        as_read(a_grant(citizen, first, 1), 10),
        as_read(a_grant(citizen, second, 2), 11),
        as_read(ConsentRevoked(**envelope(citizen, 3), consent_id=first, revoked_at=NOW), 12),
        as_read(ConsentExpired(**envelope(citizen, 4), consent_id=second, expired_at=NOW), 13),
    ]
    for offset, event in enumerate(fed, start=10):
        feed(app, event, offset)
    changes = register_events(app, citizen)[1:]
    assert [type(c).__name__ for c in changes] == ["Granted", "Granted", "Revoked", "Expired"]
    assert [c.source for c in changes] == [
        {"topic": TOPIC, "partition": 2, "offset": offset, "chain_hash": event.chain_hash}
        for offset, event in enumerate(fed, start=10)
    ]


def test_the_origin_stays_out_of_the_document_and_its_chain_hash() -> None:
    event = a_grant(uuid.uuid4(), uuid.uuid4())
    document = link(event.to_wire(), GENESIS)
    read = parse_event(document).read_from(TOPIC, 0, 7)
    assert read.to_wire() == document
    assert chain_hash(read.to_wire()) == document["chain_hash"]
    assert read == parse_event(document)  # wherever it was read from, the same event


def test_a_change_not_read_from_kafka_names_no_record(app: RecordsApplication) -> None:
    citizen = uuid.uuid4()
    feed(app, a_grant(citizen, uuid.uuid4()), 1)
    [_, granted] = register_events(app, citizen)
    assert granted.source is None


def test_a_register_stored_before_changes_named_their_record_still_loads(
    app: RecordsApplication,
) -> None:
    citizen, consent = uuid.uuid4(), uuid.uuid4()
    feed(app, as_read(a_grant(citizen, consent), 1), 1)
    register_id = ConsentRegister.create_id(citizen)
    [opened, granted] = app.recorder.select_events(register_id)
    state = json.loads(granted.state)
    del state["source"]
    older = StoredEvent(
        granted.originator_id, granted.originator_version, granted.topic, json.dumps(state).encode()
    )
    legacy = RecordsApplication(clock=ManualClock(NOW))
    legacy.recorder.insert_events([opened, older])
    register = legacy.consent_register(citizen)
    assert register is not None and consent in register.grants
    assert register_events(legacy, citizen)[1].source is None
