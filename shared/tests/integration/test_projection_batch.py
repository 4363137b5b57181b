"""A batch of events is projected in one ordered bulk per collection, exactly as one by one,
and the checkpoint never runs ahead of what the bulk wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import closing
from functools import singledispatchmethod
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from rse_shared import projection_batch
from rse_shared.eventstore import ServiceApplication, in_thread
from rse_shared.projection import (
    CHECKPOINTS,
    FAILURES,
    POSITION,
    ProjectionRunner,
    guarded_upsert,
    handled_by,
)
from rse_shared.projection_batch import ordered_upserts
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str, tag: str) -> None:
        self.text, self.tag = text, tag

    @event("Edited")
    def edit(self, text: str) -> None:
        self.text = text


class Notebook(ServiceApplication):
    name = "notebook"


class Notes:
    """Each note's text and edit count, and its tag's latest note: two collections."""

    name = "notes"
    collections = ("notes", "tags")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Nothing else is a note."""

    @apply.register(Note.Written)
    async def when_written_add_it(
        self, event: Note.Written, position: int, db: AsyncDatabase[Any]
    ) -> None:
        if event.text == "poison":
            raise ValueError("cannot project poison")
        await guarded_upsert(
            db.notes,
            {"_id": str(event.originator_id)},
            position,
            {"$set": {"text": event.text, "tag": event.tag, "edits": 0}},
        )
        await guarded_upsert(
            db.tags, {"_id": event.tag}, position, {"$set": {"latest": str(event.originator_id)}}
        )

    @apply.register(Note.Edited)
    async def when_edited_replace_the_text(
        self, event: Note.Edited, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await guarded_upsert(
            db.notes,
            {"_id": str(event.originator_id)},
            position,
            {"$set": {"text": event.text}, "$inc": {"edits": 1}},
        )
        if event.text == "half poison":  # one upsert queued, then the event fails
            raise ValueError("cannot finish half poison")


class Killed(BaseException):
    """The process dies here: nothing after it runs, no fallback, no checkpoint."""


@pytest.fixture
def notebook(settings: ServiceSettings) -> Iterator[Notebook]:
    with closing(Notebook(env=settings.eventstore_env())) as app:
        yield app


@pytest.fixture
async def client(settings: ServiceSettings) -> AsyncIterator[AsyncMongoClient[Any]]:
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    yield mongo
    await mongo.drop_database(f"{settings.mongo_db}_alone")
    await mongo.close()


@pytest.fixture
def db(client: AsyncMongoClient[Any], settings: ServiceSettings) -> AsyncDatabase[Any]:
    return client[settings.mongo_db]


@pytest.fixture
def alone_db(client: AsyncMongoClient[Any], settings: ServiceSettings) -> AsyncDatabase[Any]:
    return client[f"{settings.mongo_db}_alone"]


def write(notebook: Notebook, texts: Sequence[str], edits: int = 2) -> list[str]:
    notes = [Note(text, tag=f"tag{i % 7}") for i, text in enumerate(texts)]
    for round_ in range(edits):
        for i, note in enumerate(notes):
            if i % (round_ + 2) == 0:
                note.edit(f"{note.text} / edit {round_}")
    notebook.save(*notes)
    return [str(n.id) for n in notes]


async def one_by_one(notebook: Notebook, projection: Notes, db: AsyncDatabase[Any]) -> None:
    """The path of old: each event's upserts sent at once, one `update_one` each."""
    for n in await in_thread(notebook.recorder.select_notifications, start=1, limit=10_000):
        if handled_by(projection, n.topic):
            await projection.apply(notebook.mapper.to_domain_event(n), n.id, db)


async def contents(db: AsyncDatabase[Any]) -> dict[str, list[Mapping[str, Any]]]:
    return {name: await db[name].find().sort("_id", 1).to_list() for name in Notes.collections}


async def test_a_batch_projects_every_document_as_one_by_one_does(
    notebook: Notebook, db: AsyncDatabase[Any], alone_db: AsyncDatabase[Any]
) -> None:
    await in_thread(write, notebook, [f"note {i}" for i in range(120)])
    runner = ProjectionRunner(notebook, Notes(), db, batch_size=100)
    assert await runner.run_once() == await in_thread(notebook.recorder.max_notification_id)
    await one_by_one(notebook, Notes(), alone_db)
    batched, alone = await contents(db), await contents(alone_db)
    assert batched == alone
    assert [list(d) for d in batched["notes"]] == [list(d) for d in alone["notes"]]  # field order
    assert len(batched["notes"]) == 120 and len(batched["tags"]) == 7
    assert {d["edits"] for d in batched["notes"]} == {0, 1, 2}
    assert await runner.checkpoint() == await in_thread(notebook.recorder.max_notification_id)


async def test_applying_a_batch_again_changes_nothing(
    notebook: Notebook, db: AsyncDatabase[Any]
) -> None:
    await in_thread(write, notebook, [f"note {i}" for i in range(40)])
    runner = ProjectionRunner(notebook, Notes(), db)
    await runner.run_once()
    before = await contents(db)
    await db[CHECKPOINTS].delete_many({})  # as if it had died before saving its checkpoint
    await runner.run_once()
    assert await contents(db) == before
    assert await db[FAILURES].count_documents({}) == 0


def upsert(key: str, position: int, text: str) -> dict[str, Any]:
    return {
        "q": {"_id": key, POSITION: {"$lt": position}},
        "u": {"$set": {"text": text, POSITION: position}},
        "upsert": True,
    }


@pytest.mark.parametrize("stale_at", [0, 2, 5])
async def test_an_upsert_the_guard_refuses_is_skipped_and_the_rest_are_written(
    db: AsyncDatabase[Any], stale_at: int
) -> None:
    await db.notes.insert_one({"_id": "seen", "text": "kept", POSITION: 10})
    updates = [upsert(f"n{i}", i + 1, f"new {i}") for i in range(5)]
    updates.insert(stale_at, upsert("seen", 3, "stale"))
    updates.append(upsert("n1", 20, "newer"))
    await ordered_upserts(db.notes, updates)
    found = {d["_id"]: d["text"] for d in await db.notes.find().to_list()}
    assert found == {
        "seen": "kept",
        "n0": "new 0",
        "n1": "newer",
        "n2": "new 2",
        "n3": "new 3",
        "n4": "new 4",
    }


def after_commands(count: int, failure: BaseException) -> Any:
    """`_command` as it is for `count` calls, then failing with `failure` once."""
    real = projection_batch._command
    calls = 0

    async def command(collection: AsyncCollection[Any], body: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == count + 1:
            raise failure
        return await real(collection, body)

    return command


async def test_a_flush_that_dies_midway_leaves_the_checkpoint_where_it_was(
    notebook: Notebook,
    db: AsyncDatabase[Any],
    alone_db: AsyncDatabase[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await in_thread(write, notebook, [f"note {i}" for i in range(30)])
    monkeypatch.setattr(projection_batch, "_command", after_commands(3, Killed()))
    runner = ProjectionRunner(notebook, Notes(), db)
    with pytest.raises(Killed):
        await runner.run_once()
    assert await db.notes.count_documents({}) == 30  # the inserts went, not all the edits
    assert await db.notes.count_documents({"edits": {"$gt": 0}}) < 15
    assert await db[CHECKPOINTS].count_documents({}) == 0
    monkeypatch.undo()
    await ProjectionRunner(notebook, Notes(), db).run_once()  # restarted
    await one_by_one(notebook, Notes(), alone_db)
    assert await contents(db) == await contents(alone_db)


async def test_a_flush_that_fails_is_applied_one_by_one_instead(
    notebook: Notebook,
    db: AsyncDatabase[Any],
    alone_db: AsyncDatabase[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await in_thread(write, notebook, [f"note {i}" for i in range(30)])
    monkeypatch.setattr(
        projection_batch, "_command", after_commands(3, OperationFailure("not now"))
    )
    runner = ProjectionRunner(notebook, Notes(), db)
    assert await runner.run_once() == await in_thread(notebook.recorder.max_notification_id)
    await one_by_one(notebook, Notes(), alone_db)
    assert await contents(db) == await contents(alone_db)
    assert await db[FAILURES].count_documents({}) == 0


async def test_a_poisoned_event_in_a_batch_is_set_aside_and_the_rest_are_applied(
    notebook: Notebook, db: AsyncDatabase[Any], alone_db: AsyncDatabase[Any]
) -> None:
    texts = [f"note {i}" for i in range(20)]
    texts[7] = "poison"
    await in_thread(write, notebook, texts, 0)
    runner = ProjectionRunner(notebook, Notes(), db, retry_backoff=0.01)
    await runner.run_once()
    failures = await db[FAILURES].find().to_list()
    assert [(f["position"], f["attempts"]) for f in failures] == [(8, 3)]
    assert await db.notes.count_documents({}) == 19
    assert await runner.checkpoint() == 20
    await one_by_one_tolerant(notebook, alone_db)
    assert await contents(db) == await contents(alone_db)


async def one_by_one_tolerant(notebook: Notebook, db: AsyncDatabase[Any]) -> None:
    """One by one, each failing event left out (as the runner sets it aside)."""
    projection = Notes()
    for n in await in_thread(notebook.recorder.select_notifications, start=1, limit=10_000):
        try:
            await projection.apply(notebook.mapper.to_domain_event(n), n.id, db)
        except ValueError:
            continue


async def test_an_event_failing_after_one_of_its_upserts_is_set_aside_after_three_attempts(
    notebook: Notebook, db: AsyncDatabase[Any]
) -> None:
    def write_and_half_poison() -> str:
        note = Note("first", tag="t")
        note.edit("half poison")
        note.edit("after")
        notebook.save(note)
        return str(note.id)

    note = await in_thread(write_and_half_poison)
    runner = ProjectionRunner(notebook, Notes(), db, retry_backoff=0.01)
    assert await runner.run_once() == 3
    [failure] = await db[FAILURES].find().to_list()
    assert failure["position"] == 2 and failure["attempts"] == 3
    [doc] = await db.notes.find().to_list()
    # The failing event's first upsert went through on its first attempt, as one by one.
    assert doc == {"_id": note, "text": "after", "tag": "t", "edits": 2, POSITION: 3}
    assert await runner.checkpoint() == 3


async def test_when_the_store_is_away_the_runner_stops_before_its_checkpoint(
    notebook: Notebook, db: AsyncDatabase[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await in_thread(write, notebook, ["first", "second"], 0)
    away: AsyncMongoClient[Any] = AsyncMongoClient(
        "mongodb://127.0.0.1:1", serverSelectionTimeoutMS=100
    )

    class Elsewhere(Notes):
        async def apply(self, event: Any, position: int, _: AsyncDatabase[Any]) -> None:
            await super().apply(event, position, away["notes"])

    runner = ProjectionRunner(notebook, Elsewhere(), db, retry_backoff=0.01)

    async def store_away() -> bool:
        return False

    monkeypatch.setattr(runner, "_store_answers", store_away)
    with pytest.raises(PyMongoError):
        await runner.run_once()
    assert await db[CHECKPOINTS].count_documents({}) == 0
    assert await db[FAILURES].count_documents({}) == 0
    await away.close()


class Sticker(Aggregate):
    """An aggregate of the same log that Notes does not project."""

    @event("Stuck")
    def __init__(self, where: str) -> None:
        self.where = where


async def test_a_checkpoint_waits_while_the_log_holds_nothing_the_projection_handles(
    notebook: Notebook, db: AsyncDatabase[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await in_thread(write, notebook, ["first note"], edits=0)
    runner = ProjectionRunner(notebook, Notes(), db)
    await runner.run_once()
    written = await in_thread(notebook.recorder.max_notification_id)
    assert await runner.checkpoint() == written  # a batch that wrote: stored at once

    for i in range(5):  # five commits, each waking the runner, none of them for Notes
        await in_thread(notebook.save, Sticker(f"page {i}"))
        await runner.run_once()
    end = await in_thread(notebook.recorder.max_notification_id)
    assert await runner.checkpoint() == written  # moved in memory only, no write per wake

    # After a restart the skipped notifications are read again and still write nothing.
    again = ProjectionRunner(notebook, Notes(), db)
    assert await again.run_once() == end - written
    assert [d["text"] for d in await db.notes.find().to_list()] == ["first note"]

    monkeypatch.setattr("rse_shared.projection.SKIPPED_CHECKPOINT_INTERVAL", 0.0)
    await runner.run_once()  # the log is quiet and the interval has passed: stored
    assert await runner.checkpoint() == end

    await in_thread(notebook.save, Sticker("last page"))
    await runner.run_once()  # past the interval, a batch of others' events is stored too
    assert await runner.checkpoint() == await in_thread(notebook.recorder.max_notification_id)
