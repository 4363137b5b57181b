"""The projection runner: read models in MongoDB fed from a service's own event log.

Every write is an idempotent upsert guarded by the source position (the notification
id), so re-applying an event changes nothing; the checkpoint is stored after the data
it covers, so it never runs ahead. A projection can be dropped and rebuilt from the log.

An event the projection still fails to apply after a few attempts, while MongoDB answers,
is set aside in `projection_failures` (with its error; `make status` counts them) so that
one bad event does not stall the read model for everyone; a rebuild tries them again.
When MongoDB does not answer, nothing is set aside: the runner stops and is restarted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.utils import resolve_topic
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from rse_shared.eventstore import TRACE_ATTRIBUTE, in_thread, readable
from rse_shared.log_tail import LogTail
from rse_shared.metrics import PROJECTION_FAILURES, PROJECTION_LAG
from rse_shared.notify import Sleep, Wake
from rse_shared.projection_batch import apply_batch, pending
from rse_shared.telemetry import context_from_traceparent, tracer

log = logging.getLogger(__name__)

CHECKPOINTS = "projection_checkpoints"
FAILURES = "projection_failures"
POSITION = "_position"
LAG_INTERVAL = 1.0
"""Seconds between two readings of the log's end for the projection-lag gauge."""
SKIPPED_CHECKPOINT_INTERVAL = 5.0
"""Seconds a checkpoint may stay behind notifications the projection does not handle.

A batch that wrote documents saves its checkpoint at once (after the documents). One that
held none of the projection's events moves the position in memory only, and the store is
told at most this often (or once the log is quiet this long): every commit wakes every
projector of the service, and most wakes hold nothing for a given projection, so saving
each would be a read-model write per projector per commit. A restart re-reads at most
these seconds of notifications, and skips them again.
"""


class Projection(Protocol):
    """A read model: applies domain events at their source position."""

    name: str
    collections: tuple[str, ...]

    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None: ...


def handled_by(projection: Projection, topic: str) -> bool:
    """Whether the projection applies events of this notification topic.

    The runner decodes no other notification (the log of one application holds every
    aggregate's); a projection that applies every event says nothing (see `handled_events`).
    """
    handles = handled_events(projection)
    return not handles or issubclass(resolve_topic(topic), handles)


def handled_events(projection: Projection) -> tuple[type[Any], ...]:
    """The event classes a projection applies: its `handles`, else its `apply`'s handlers.

    Read from the singledispatch registry, the list cannot drift from the handlers; the
    fallback handler (for `object`) is then never called, so it must ignore the event.
    """
    named: tuple[type[Any], ...] | None = getattr(projection, "handles", None)
    if named is not None:
        return tuple(named)
    for klass in type(projection).__mro__:
        if "apply" in vars(klass):
            apply = vars(klass)["apply"]
            registry = getattr(getattr(apply, "dispatcher", apply), "registry", {})
            return tuple(kind for kind in registry if kind is not object)
    return ()


async def guarded_upsert(
    collection: AsyncCollection[Any],
    key: Mapping[str, Any],
    position: int,
    update: Mapping[str, Any],
) -> bool:
    """Apply `update` to the document at `key` unless it already saw `position` or later.

    Returns False when the event had been applied before (the guard refused it). While
    the runner applies a batch, the upsert is queued for the batch's bulk write instead
    (see `projection_batch`) and True is returned: the guard then decides at the flush.
    """
    update = dict(update)
    update["$set"] = {**update.get("$set", {}), POSITION: position}
    query = {**key, POSITION: {"$lt": position}}
    writes = pending()
    if writes is not None:
        writes.add(collection, key, query, update)
        return True
    try:
        result = await collection.update_one(query, update, upsert=True)
    except DuplicateKeyError:
        return False  # the document exists with a position >= this one
    return bool(result.upserted_id is not None or result.modified_count)


class ProjectionRunner:
    """Follows an application's notification log into one projection."""

    def __init__(
        self,
        app: Application[Any],
        projection: Projection,
        db: AsyncDatabase[Any],
        *,
        batch_size: int = 500,
        poll_interval: float = 0.1,
        progress: Callable[[int, int], None] | None = None,
        max_attempts: int = 3,
        retry_backoff: float = 0.1,
        wake: Wake | None = None,
        log: LogTail | None = None,
    ) -> None:
        self.wake = wake or Sleep()
        self.log = log or LogTail(app.recorder)  # shared with the service's other followers
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.app = app
        self.projection = projection
        self.db = db
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.progress = progress
        # The checkpoint as this runner last read or saved it: read once, not on every
        # wake (a round trip to the store each time the log moves). Another runner that
        # moved it further only makes this one re-apply what the guards then refuse.
        self._position: int | None = None
        self._stored: int | None = None  # the position the store holds, as far as known
        self._stored_at = 0.0
        self._lag_measured = 0.0

    async def checkpoint(self) -> int:
        """The stored checkpoint."""
        doc = await self.db[CHECKPOINTS].find_one({"_id": self.projection.name})
        return int(doc["position"]) if doc else 0

    async def _save_checkpoint(self, position: int) -> None:
        await self.db[CHECKPOINTS].update_one(
            {"_id": self.projection.name}, {"$max": {"position": position}}, upsert=True
        )
        self._position = self._stored = position
        self._stored_at = time.monotonic()

    async def _advance(self, position: int, wrote: bool) -> None:
        """The checkpoint after a batch: stored now if the batch wrote documents, else
        kept in memory until SKIPPED_CHECKPOINT_INTERVAL has passed."""
        if wrote or time.monotonic() - self._stored_at >= SKIPPED_CHECKPOINT_INTERVAL:
            await self._save_checkpoint(position)
        else:
            self._position = position

    async def _store_skipped(self) -> None:
        """Store a position moved in memory only, once SKIPPED_CHECKPOINT_INTERVAL passed."""
        position = self._position
        if position is not None and position != self._stored:
            await self._advance(position, wrote=False)

    async def run_once(self) -> int:
        """Apply every notification after the checkpoint; return how many were applied."""
        if self._position is None:
            self._position = self._stored = await self.checkpoint()
        position = self._position
        total = 0
        while True:
            notifications = await self.log.after(position, self.batch_size)
            handled = [
                (event, n.id)
                for n in notifications
                if handled_by(self.projection, n.topic)
                and (event := readable(self.app.mapper, n)) is not None
            ]
            # The batch's writes go in one bulk per collection before its checkpoint.
            await apply_batch(handled, self._queue, self._apply)
            if not notifications:
                await self._store_skipped()
                if time.monotonic() - self._lag_measured >= LAG_INTERVAL:
                    await self._measure_lag(position)
                return total
            position = notifications[-1].id
            await self._advance(position, wrote=bool(handled))
            total += len(notifications)
            if self.progress:
                self.progress(total, position)

    async def _queue(self, event: Any, position: int) -> None:
        """Apply one event of a batch: its upserts are queued for the batch's bulk write."""
        with self._span(event):
            await self.projection.apply(event, position, self.db)

    def _span(self, event: Any) -> AbstractContextManager[Any]:
        return tracer().start_as_current_span(
            f"{self.projection.name} apply",
            context=context_from_traceparent(getattr(event, TRACE_ATTRIBUTE, None)),
        )

    async def _apply(self, event: Any, position: int) -> None:
        """Apply one event, retrying; set it aside if it keeps failing while MongoDB answers."""
        with self._span(event):
            await self._attempt(event, position)

    async def _attempt(self, event: Any, position: int) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self.projection.apply(event, position, self.db)
                return
            except Exception as failure:
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff * attempt)
                    continue
                if not await self._store_answers():
                    raise  # the store, not the event: stop here and resume from the checkpoint
                await self._set_aside(event, position, failure)

    async def _store_answers(self) -> bool:
        try:
            await self.db.command("ping")
            await self.db[CHECKPOINTS].find_one({"_id": self.projection.name})
        except PyMongoError:
            return False
        return True

    async def _set_aside(self, event: Any, position: int, failure: Exception) -> None:
        error = f"{type(failure).__name__}: {failure}"[:1000]
        log.error(
            "projection %s set aside event %d",
            self.projection.name,
            position,
            extra={"event_type": type(event).__qualname__, "error": error},
        )
        PROJECTION_FAILURES.labels(self.projection.name).inc()
        await self.db[FAILURES].replace_one(
            {"_id": f"{self.projection.name}:{position}"},
            {
                "projection": self.projection.name,
                "position": position,
                "event_type": type(event).__qualname__,
                "originator_id": str(getattr(event, "originator_id", "")),
                "error": error,
                "attempts": self.max_attempts,
            },
            upsert=True,
        )

    async def _measure_lag(self, position: int) -> None:
        self._lag_measured = time.monotonic()
        last = await in_thread(self.app.recorder.max_notification_id) or 0
        PROJECTION_LAG.labels(self.projection.name).set(last - position)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Keep the projection up to date until `stop` is set."""
        stop = stop or asyncio.Event()
        await self.ensure_indexes()
        while not stop.is_set():
            if not await self.run_once():
                await self.wake.wait(stop, self.poll_interval)

    async def rebuild(self) -> int:
        """Drop the read model and its checkpoint, then replay the whole log into it."""
        for name in self.projection.collections:
            await self.db.drop_collection(name)
        await self.db[CHECKPOINTS].delete_one({"_id": self.projection.name})
        self._position = self._stored = None
        await self.db[FAILURES].delete_many({"projection": self.projection.name})
        await self.ensure_indexes()
        applied = await self.run_once()
        if self._position is not None and self._position != self._stored:
            await self._save_checkpoint(self._position)
        return applied

    async def ensure_indexes(self) -> None:
        ensure = getattr(self.projection, "ensure_indexes", None)
        if ensure is not None:
            await ensure(self.db)
