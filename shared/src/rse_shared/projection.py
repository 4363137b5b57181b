"""The projection runner: read models in MongoDB fed from a service's own event log.

Every write is an idempotent upsert guarded by the source position (the notification
id), so re-applying an event changes nothing; the checkpoint is stored after the data
it covers, so it never runs ahead. A projection can be dropped and rebuilt from the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rse_shared.eventstore import TRACE_ATTRIBUTE, in_thread
from rse_shared.loops import pause
from rse_shared.metrics import PROJECTION_LAG
from rse_shared.telemetry import context_from_traceparent, tracer

log = logging.getLogger(__name__)

CHECKPOINTS = "projection_checkpoints"
POSITION = "_position"


class Projection(Protocol):
    """A read model: applies domain events at their source position."""

    name: str
    collections: tuple[str, ...]

    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None: ...


async def guarded_upsert(
    collection: AsyncCollection[Any],
    key: Mapping[str, Any],
    position: int,
    update: Mapping[str, Any],
) -> bool:
    """Apply `update` to the document at `key` unless it already saw `position` or later.

    Returns False when the event had been applied before (the guard refused it).
    """
    update = dict(update)
    update["$set"] = {**update.get("$set", {}), POSITION: position}
    try:
        result = await collection.update_one(
            {**key, POSITION: {"$lt": position}}, update, upsert=True
        )
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
    ) -> None:
        self.app = app
        self.projection = projection
        self.db = db
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.progress = progress

    async def checkpoint(self) -> int:
        doc = await self.db[CHECKPOINTS].find_one({"_id": self.projection.name})
        return int(doc["position"]) if doc else 0

    async def _save_checkpoint(self, position: int) -> None:
        await self.db[CHECKPOINTS].update_one(
            {"_id": self.projection.name}, {"$max": {"position": position}}, upsert=True
        )

    async def run_once(self) -> int:
        """Apply every notification after the checkpoint; return how many were applied."""
        position = await self.checkpoint()
        total = 0
        while True:
            notifications: Sequence[Notification] = await in_thread(
                self.app.recorder.select_notifications,
                start=position, limit=self.batch_size, inclusive_of_start=False,
            )
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                with tracer().start_as_current_span(
                    f"{self.projection.name} apply",
                    context=context_from_traceparent(getattr(event, TRACE_ATTRIBUTE, None)),
                ):
                    await self.projection.apply(event, notification.id, self.db)
            if not notifications:
                await self._measure_lag(position)
                return total
            position = notifications[-1].id
            await self._save_checkpoint(position)
            total += len(notifications)
            if self.progress:
                self.progress(total, position)

    async def _measure_lag(self, position: int) -> None:
        last = await in_thread(self.app.recorder.max_notification_id) or 0
        PROJECTION_LAG.labels(self.projection.name).set(last - position)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Keep the projection up to date until `stop` is set."""
        stop = stop or asyncio.Event()
        await self.ensure_indexes()
        while not stop.is_set():
            if not await self.run_once():
                await pause(stop, self.poll_interval)

    async def rebuild(self) -> int:
        """Drop the read model and its checkpoint, then replay the whole log into it."""
        for name in self.projection.collections:
            await self.db.drop_collection(name)
        await self.db[CHECKPOINTS].delete_one({"_id": self.projection.name})
        await self.ensure_indexes()
        return await self.run_once()

    async def ensure_indexes(self) -> None:
        ensure = getattr(self.projection, "ensure_indexes", None)
        if ensure is not None:
            await ensure(self.db)
