"""The newest notifications of a service's log, read once for all of its followers.

Every commit wakes the relay and every projector of the service (rse_shared.notify), and
each then asked PostgreSQL for the notifications after its own position: the same rows,
once per follower, then one more query each to find nothing after them. A `LogTail` keeps
the window of the log it read last and hands a follower the part after its position:

- Rows are kept as read. The log only grows at its end: an insert takes the events
  table's lock and its notification ids are committed in order, so once the rows up to id
  `hi` are visible no row below `hi` appears later, and a window read once stays true.
- "Nothing after `hi`" is remembered only while no NOTIFY has arrived since the query that
  found it began, and for at most `fresh` seconds: a commit after that query rings the
  listener first, so a follower is never told the log ends where it does not, and a write
  that did not notify is still found by the followers' safety poll.
- Followers asking for the same position at once share one query.

Without a listener (an in-memory store) the end of the log is never remembered.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification

from rse_shared.eventstore import in_thread
from rse_shared.notify import Listener

KEEP = 5_000
"""Notifications kept at most (the oldest are dropped first)."""
FRESH = 0.25
"""Seconds an empty answer at the window's end is trusted, if no NOTIFY came since."""


class LogTail:
    """One application's notification log as its followers read it (see the module)."""

    def __init__(
        self,
        recorder: Any,
        listener: Listener | None = None,
        *,
        keep: int = KEEP,
        fresh: float = FRESH,
    ) -> None:
        self.recorder, self.listener = recorder, listener
        self.keep, self.fresh = keep, fresh
        self.lo = self.hi = -1  # the window: every notification with lo < id <= hi
        self._rows: list[Notification] = []
        self._ids: list[int] = []
        self._end: tuple[int, float] | None = None  # (rings, time) of the query that found it
        self._reading: dict[tuple[int, int], asyncio.Future[Sequence[Notification]]] = {}

    async def after(self, start: int, limit: int) -> Sequence[Notification]:
        """Up to `limit` notifications with ids above `start`, in order."""
        known = self._known(start, limit)
        if known is not None:
            return known
        key = (start, limit)
        reading = self._reading.get(key)
        if reading is not None:
            return await asyncio.shield(reading)
        reading = self._reading[key] = asyncio.get_running_loop().create_future()
        try:
            rows = await self._read(start, limit)
        except BaseException as failure:
            reading.set_exception(failure)
            reading.exception()  # retrieved here: each waiter gets it from its own await
            raise
        else:
            reading.set_result(rows)
            return rows
        finally:
            del self._reading[key]

    def _known(self, start: int, limit: int) -> Sequence[Notification] | None:
        if self.lo <= start < self.hi:
            first = bisect.bisect_right(self._ids, start)
            return self._rows[first : first + limit]
        if start == self.hi and self._end is not None and self.listener is not None:
            rings, at = self._end
            if rings == self.listener.rings and time.monotonic() - at < self.fresh:
                return []
        return None

    async def _read(self, start: int, limit: int) -> Sequence[Notification]:
        rings = self.listener.rings if self.listener is not None else 0
        began = time.monotonic()
        rows: Sequence[Notification] = await in_thread(
            self.recorder.select_notifications,
            start=start,
            limit=limit,
            inclusive_of_start=False,
        )
        if self._remember(start, rows) and len(rows) < limit:
            self._end = (rings, began)  # the window now ends where this query found the end
        return rows

    def _remember(self, start: int, rows: Sequence[Notification]) -> bool:
        """Take `rows` into the window; False if they add nothing to it."""
        if start == self.hi:  # the window grows at its end
            self._rows.extend(rows)
            self._ids.extend(n.id for n in rows)
        elif self.lo <= start < self.hi:
            return False  # read while another query filled this part
        else:  # elsewhere in the log (a follower behind, or a first read): a new window
            self.lo, self._rows, self._ids = start, list(rows), [n.id for n in rows]
        self._end = None
        if rows:
            self.hi = rows[-1].id
        elif start != self.hi:
            self.hi = start
        if len(self._rows) > self.keep:
            dropped = len(self._rows) - self.keep
            self.lo = self._ids[dropped - 1]
            del self._rows[:dropped], self._ids[:dropped]
        return True
