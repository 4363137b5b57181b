"""A projection decodes only the events its handlers take, read from their registry."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.utils import get_topic

from rse_shared.projection import handled_by, handled_events


class Opened:
    pass


class Closed:
    pass


class Other:
    pass


class Book:
    name = "book"
    collections = ("books",)

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: Any) -> None:
        """Nothing else."""

    @apply.register(Opened)
    async def when_opened(self, event: Opened, position: int, db: Any) -> None: ...

    @apply.register(Closed)
    async def when_closed(self, event: Closed, position: int, db: Any) -> None: ...


class Everything:
    name = "everything"
    collections = ("all",)

    async def apply(self, event: Any, position: int, db: Any) -> None: ...


def test_the_events_a_projection_handles_are_its_registered_handlers() -> None:
    assert set(handled_events(Book())) == {Opened, Closed}
    assert [handled_by(Book(), get_topic(c)) for c in (Opened, Closed, Other)] == [
        True,
        True,
        False,
    ]


def test_a_projection_that_names_its_events_is_taken_at_its_word() -> None:
    book = Book()
    book.handles = (Opened,)  # type: ignore[attr-defined]
    assert handled_events(book) == (Opened,)


def test_a_projection_without_handlers_applies_every_event() -> None:
    assert handled_events(Everything()) == ()
    assert handled_by(Everything(), get_topic(Other))
