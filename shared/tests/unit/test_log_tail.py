"""The log tail hands each follower the notifications after its position, reading the log
once for followers that ask together, and never says the log ends where it does not."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Notification

from rse_shared.log_tail import LogTail
from rse_shared.notify import Listener


class Page(Aggregate):
    @event("Written")
    def __init__(self, n: int) -> None:
        self.n = n


class Counted:
    """The application's recorder, counting the queries made to it (and able to fail)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder, self.queries, self.failing = recorder, 0, False
        self.gate = threading.Event()
        self.gate.set()

    def select_notifications(self, **kwargs: Any) -> Sequence[Notification]:
        self.queries += 1
        self.gate.wait(5)
        if self.failing:
            raise ConnectionError("the database went away")
        rows: Sequence[Notification] = self.recorder.select_notifications(**kwargs)
        return rows


@pytest.fixture
def app() -> Iterator[Application[Any]]:
    with closing(Application[Any]()) as application:
        yield application


def write(app: Application[Any], count: int) -> list[int]:
    app.save(*(Page(i) for i in range(count)))
    last = app.recorder.max_notification_id() or 0
    return list(range(last - count + 1, last + 1))


def ids(rows: Sequence[Notification]) -> list[int]:
    return [n.id for n in rows]


async def test_followers_at_one_position_share_one_query(app: Application[Any]) -> None:
    written = write(app, 5)
    recorder = Counted(app.recorder)
    tail = LogTail(recorder, Listener("", "events"))
    recorder.gate.clear()  # the first query is slow: the others ask while it runs
    asking = [asyncio.create_task(tail.after(0, 100)) for _ in range(4)]
    await asyncio.sleep(0.05)
    recorder.gate.set()
    answers = await asyncio.gather(*asking)
    assert [ids(a) for a in answers] == [written] * 4
    assert recorder.queries == 1
    # Behind and within the window: from memory, `limit` at most.
    assert ids(await tail.after(written[1], 2)) == written[2:4]
    assert recorder.queries == 1


async def test_the_end_is_remembered_only_until_the_next_notify(app: Application[Any]) -> None:
    written = write(app, 3)
    recorder, listener = Counted(app.recorder), Listener("", "events")
    tail = LogTail(recorder, listener)
    assert ids(await tail.after(0, 100)) == written  # fewer than asked: the end, as of now
    assert await tail.after(written[-1], 100) == []
    assert recorder.queries == 1  # the second follower to catch up is told without a query

    more = write(app, 2)
    listener.ring()  # the commit's NOTIFY
    assert ids(await tail.after(written[-1], 100)) == more
    assert recorder.queries == 2


async def test_an_unannounced_write_is_found_once_the_end_is_stale(app: Application[Any]) -> None:
    written = write(app, 2)
    recorder = Counted(app.recorder)
    tail = LogTail(recorder, Listener("", "events"), fresh=0.05)
    await tail.after(0, 100)
    more = write(app, 1)  # no NOTIFY (the listener was reconnecting, say)
    assert await tail.after(written[-1], 100) == []  # still the end as the tail knows it
    await asyncio.sleep(0.06)
    assert ids(await tail.after(written[-1], 100)) == more


async def test_without_a_listener_the_end_is_always_read(app: Application[Any]) -> None:
    written = write(app, 2)
    recorder = Counted(app.recorder)
    tail = LogTail(recorder)
    await tail.after(0, 100)
    assert await tail.after(written[-1], 100) == []
    more = write(app, 1)
    assert ids(await tail.after(written[-1], 100)) == more
    assert recorder.queries == 3


async def test_a_full_batch_is_not_taken_for_the_end(app: Application[Any]) -> None:
    written = write(app, 6)
    recorder = Counted(app.recorder)
    tail = LogTail(recorder, Listener("", "events"))
    assert ids(await tail.after(0, 3)) == written[:3]
    assert ids(await tail.after(written[2], 3)) == written[3:]  # read: not assumed empty
    assert ids(await tail.after(0, 6)) == written  # the window holds both reads
    assert recorder.queries == 2


async def test_the_window_keeps_the_newest_and_reads_older_again(app: Application[Any]) -> None:
    written = write(app, 10)
    recorder = Counted(app.recorder)
    tail = LogTail(recorder, Listener("", "events"), keep=4)
    assert ids(await tail.after(0, 100)) == written
    assert ids(await tail.after(written[6], 100)) == written[7:]  # kept
    assert recorder.queries == 1
    assert ids(await tail.after(written[1], 3)) == written[2:5]  # dropped: read again
    assert recorder.queries == 2


async def test_a_failed_read_fails_every_follower_waiting_on_it(app: Application[Any]) -> None:
    written = write(app, 2)
    recorder = Counted(app.recorder)
    tail = LogTail(recorder, Listener("", "events"))
    recorder.failing = True
    recorder.gate.clear()
    asking = [asyncio.create_task(tail.after(0, 100)) for _ in range(3)]
    await asyncio.sleep(0.05)
    recorder.gate.set()
    answers = await asyncio.gather(*asking, return_exceptions=True)
    assert all(isinstance(a, ConnectionError) for a in answers)
    recorder.failing = False  # nothing was kept of the failure: the next read succeeds
    assert ids(await tail.after(0, 100)) == written
