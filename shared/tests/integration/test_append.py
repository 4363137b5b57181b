"""The one-statement append (rse_shared.pgstore.OneCallAppend) on the real PostgreSQL."""

from __future__ import annotations

import base64
import threading
import uuid

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from pydantic import SecretStr

from rse_shared.eventstore import ServiceApplication, StateCipher, StoreUnreadable
from rse_shared.keyring import new_key
from rse_shared.pgstore import OneCallAppend
from rse_shared.reseal import reseal_database
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Amended")
    def amend(self, text: str) -> None:
        self.text = text


class Notes(ServiceApplication):
    name = "append_notes"


def test_an_aggregates_events_get_rising_notification_ids_and_a_notify(
    settings: ServiceSettings,
) -> None:
    app = Notes(env=settings.eventstore_env())
    assert isinstance(app.recorder, OneCallAppend)
    channel = app.recorder.channel_name
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as listener:
        listener.execute(f'LISTEN "{channel}"')
        note = Note("first")
        note.amend("second")
        note.amend("third")
        recordings = app.save(note)
        woken = list(listener.notifies(timeout=5, stop_after=1))
    ids = [r.notification.id for r in recordings]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [n.originator_version for n in app.recorder.select_notifications(ids[0], 3)] == [1, 2, 3]
    assert woken and woken[0].channel == channel
    assert app.repository.get(note.id).text == "third"
    app.close()


def test_a_one_event_append_takes_the_same_lock_notify_and_ids(settings: ServiceSettings) -> None:
    app = Notes(env=settings.eventstore_env())
    assert isinstance(app.recorder, OneCallAppend)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as listener:
        listener.execute(f'LISTEN "{app.recorder.channel_name}"')
        first, second = Note("one"), Note("two")
        [one] = app.save(first)
        [two] = app.save(second)
        woken = list(listener.notifies(timeout=5, stop_after=2))
    assert two.notification.id == one.notification.id + 1
    assert len(woken) == 2
    [stored] = app.recorder.select_notifications(one.notification.id, 1)
    assert (stored.originator_id, stored.originator_version) == (first.id, 1)
    assert app.repository.get(second.id).text == "two"
    app.close()


def test_two_writers_of_one_version_conflict_and_only_one_is_stored(
    settings: ServiceSettings,
) -> None:
    app = Notes(env=settings.eventstore_env())
    note = Note("first")
    app.save(note)
    mine, theirs = app.repository.get(note.id), app.repository.get(note.id)
    mine.amend("mine")
    theirs.amend("theirs")
    app.save(mine)
    with pytest.raises(IntegrityError):
        app.save(theirs)
    assert app.repository.get(note.id).text == "mine"
    app.close()


def test_concurrent_appends_are_all_stored_under_consecutive_ids(
    settings: ServiceSettings,
) -> None:
    app = Notes(env=settings.eventstore_env())

    def write(count: int) -> None:
        for i in range(count):
            app.save(Note(f"note {i} {uuid.uuid4()}"))

    writers = [threading.Thread(target=write, args=(40,)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    ids = [n.id for n in app.recorder.select_notifications(1, 1000)]
    assert ids == list(range(ids[0], ids[0] + 160))
    app.close()


def test_a_row_written_past_the_service_does_not_read_as_an_event(
    settings: ServiceSettings,
) -> None:
    """An insider with write access to the table, not the store key, inserts the next event
    of an aggregate in clear (the shape a real one had before encryption): it is refused,
    not believed."""
    app = Notes(env=settings.eventstore_env())
    note = Note("first")
    app.save(note)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        table = f"{Notes.name}_events"
        topic, state = conn.execute(
            f"SELECT topic, state FROM {table} WHERE originator_id = %s", (note.id,)
        ).fetchone() or (None, None)
        assert b"first" not in bytes(state)  # stored sealed
        when = '{"_type_":"datetime_iso","_data_":"2026-12-02T00:00:00+00:00"}'
        forged = f'{{"text":"forged","timestamp":{when}}}'.encode()
        conn.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (%s, 2, %s, %s)",
            (note.id, topic.replace("Written", "Amended"), forged),
        )
    with pytest.raises(StoreUnreadable, match="in clear"):
        app.repository.get(note.id)
    app.close()


def test_a_store_key_rotated_and_resealed_leaves_every_event_readable(
    settings: ServiceSettings,
) -> None:
    """Old key -> the new key with the old as previous -> reseal -> the new key alone."""
    old, new = new_key(), new_key()

    def notes(store_key: bytes, previous: bytes | None = None) -> Notes:
        keys = {"store_key": SecretStr(base64.b64encode(store_key).decode())}
        if previous is not None:
            keys["store_key_previous"] = SecretStr(base64.b64encode(previous).decode())
        return Notes(env=settings.model_copy(update=keys).eventstore_env())

    def reseal(cipher: StateCipher) -> tuple[int, int]:
        results = reseal_database(settings.postgres_conninfo(), cipher)
        [events] = [r for r in results if r.table == f"{Notes.name}_events"]
        return events.store_keyed, events.resealed

    app = notes(old)
    note = Note("first")
    note.amend("second")
    app.save(note)
    app.close()
    rotating = notes(new, previous=old)
    later = rotating.repository.get(note.id)  # read through the previous key
    assert later.text == "second"
    later.amend("third")
    rotating.save(later)  # sealed under the new key
    cipher = rotating.mapper.state_cipher  # type: ignore[attr-defined]
    assert reseal(cipher) == (3, 2)
    assert reseal(cipher) == (3, 0)  # a second run changes nothing
    rotating.close()
    rotated = notes(new)
    assert rotated.repository.get(note.id).text == "third"
    rotated.close()
    stale = notes(old)
    with pytest.raises(StoreUnreadable):
        stale.repository.get(note.id)
    stale.close()
