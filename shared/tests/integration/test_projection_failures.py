"""A projection sets aside an event it cannot apply, and never one it failed on for the
store's sake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rse_shared.eventstore import ServiceApplication, in_thread
from rse_shared.projection import CHECKPOINTS, FAILURES, ProjectionRunner, guarded_upsert
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class Notebook(ServiceApplication):
    name = "notebook"


class Notes:
    """Projects each note's text; a note reading "poison" can never be projected."""

    name = "notes"
    collections = ("notes",)

    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        if event.text == "poison":
            raise ValueError("cannot project poison")
        await guarded_upsert(
            db.notes, {"_id": str(event.originator_id)}, position, {"$set": {"text": event.text}}
        )


@pytest.fixture
def notebook(settings: ServiceSettings) -> Iterator[Notebook]:
    with closing(Notebook(env=settings.eventstore_env())) as app:
        yield app


@pytest.fixture
async def db(settings: ServiceSettings) -> AsyncIterator[AsyncDatabase[Any]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url)
    yield client[settings.mongo_db]
    await client.close()


def write(notebook: Notebook, *texts: str) -> list[str]:
    notes = [Note(text) for text in texts]
    notebook.save(*notes)
    return [str(n.id) for n in notes]


async def test_an_event_that_cannot_be_projected_is_set_aside_and_the_rest_go_on(
    notebook: Notebook, db: AsyncDatabase[Any]
) -> None:
    first, poison, last = await in_thread(write, notebook, "first", "poison", "last")
    runner = ProjectionRunner(notebook, Notes(), db, retry_backoff=0.01)
    assert await runner.run_once() == 3
    assert {d["_id"] for d in await db.notes.find().to_list()} == {first, last}
    [failure] = await db[FAILURES].find().to_list()
    assert failure["_id"] == "notes:2" and failure["originator_id"] == poison
    assert failure["error"] == "ValueError: cannot project poison"
    assert failure["attempts"] == 3
    assert await runner.checkpoint() == 3
    # A rebuild (after a fix, say) tries again: still failing, set aside once more.
    assert await runner.rebuild() == 3
    assert await db[FAILURES].count_documents({}) == 1


async def test_nothing_is_set_aside_while_the_store_does_not_answer(
    notebook: Notebook, db: AsyncDatabase[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await in_thread(write, notebook, "first", "poison")
    runner = ProjectionRunner(notebook, Notes(), db, retry_backoff=0.01)

    async def store_away() -> bool:
        return False

    monkeypatch.setattr(runner, "_store_answers", store_away)
    with pytest.raises(ValueError, match="poison"):
        await runner.run_once()
    assert await db[FAILURES].count_documents({}) == 0
    assert await db[CHECKPOINTS].count_documents({}) == 0  # resumes before the failed event
