import json
import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from rse_shared.contracts import (
    CitizenRegistered,
    UnknownEventType,
    parse_event,
    stable_event_id,
)
from rse_shared.idempotent_consumer import PoisonMessage, decode


def a_registration() -> CitizenRegistered:
    citizen_id = uuid.uuid4()
    return CitizenRegistered(
        event_id=stable_event_id(citizen_id, 1),
        occurred_at=datetime.now(UTC),
        producer="identity",
        citizen_id=citizen_id,
        source_position=3,
        sns_number="123456789",
        full_name="Ana",
        date_of_birth=date(1980, 1, 1),
    )


def test_an_event_survives_the_wire_unchanged() -> None:
    event = a_registration()
    wire = json.loads(json.dumps(event.to_wire()))
    assert wire["event_type"] == "CitizenRegistered" and wire["schema_version"] == 2
    assert parse_event(wire) == event


def test_readers_ignore_fields_they_do_not_know() -> None:
    wire = {**a_registration().to_wire(), "added_later": "x"}
    assert isinstance(parse_event(wire), CitizenRegistered)


def test_contracts_are_frozen() -> None:
    with pytest.raises(ValidationError):
        a_registration().full_name = "Other"  # type: ignore[misc]


def test_an_unknown_type_or_version_is_told_apart_from_a_broken_message() -> None:
    with pytest.raises(UnknownEventType):
        parse_event({**a_registration().to_wire(), "schema_version": 99})
    with pytest.raises(UnknownEventType):
        decode(json.dumps({**a_registration().to_wire(), "event_type": "New"}).encode())
    with pytest.raises(PoisonMessage, match="not JSON"):
        decode(b"\xff\xfe")
    with pytest.raises(PoisonMessage, match="invalid"):
        decode(json.dumps({**a_registration().to_wire(), "citizen_id": "nope"}).encode())


def test_the_event_id_is_stable_for_the_same_stored_event() -> None:
    originator = uuid.uuid4()
    assert stable_event_id(originator, 2) == stable_event_id(originator, 2)
    assert stable_event_id(originator, 2) != stable_event_id(originator, 3)


def test_a_version_1_registration_reads_as_the_day_the_citizen_comes_of_age() -> None:
    wire = {**a_registration().to_wire(), "schema_version": 1, "date_of_birth": "2008-02-29"}
    del wire["adult_on"]
    event = parse_event(wire)
    assert isinstance(event, CitizenRegistered)
    assert event.adult_on == date(2026, 3, 1) and "date_of_birth" not in event.to_wire()
