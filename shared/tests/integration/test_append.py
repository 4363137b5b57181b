"""The one-statement append (rse_shared.pgstore.OneCallAppend) on the real PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from rse_shared.eventstore import ServiceApplication
from rse_shared.pgstore import OneCallAppend
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
