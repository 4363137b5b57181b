"""The dispatcher: queues what the notification log asks for, sends what is due.

Two loops. The queuer follows the service's notification log (its own position, one
active replica) and adds a queue row per requested channel, or withdraws the rows of a
withdrawn notification. The sender runs in every replica: it claims due rows (never a row
another replica holds), sends, and records each outcome as an event of the notification,
which the citizen's list shows. Retries back off exponentially; after `max_attempts` the
channel is failed with the last reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rse_notifications.application import NotificationsApplication
from rse_notifications.delivery.queue import Claimed, DeliveryQueue
from rse_notifications.delivery.senders import DeliveryFailed, Sender, Undeliverable
from rse_notifications.domain.messages import Message
from rse_notifications.domain.notification import Notification
from rse_shared.eventstore import in_thread, readable
from rse_shared.locks import advisory_lock
from rse_shared.loops import pause
from rse_shared.relay_position import PositionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """How often, how long and how many times."""

    interval: float = 1.0
    lease: timedelta = timedelta(minutes=2)
    max_attempts: int = 5
    first_retry: timedelta = timedelta(seconds=2)
    last_retry: timedelta = timedelta(minutes=10)

    def backoff(self, attempts: int) -> timedelta:
        delay: timedelta = self.first_retry * 2 ** max(attempts - 1, 0)
        return min(delay, self.last_retry)


class Dispatcher:
    """Queues and sends the notifications of one NotificationsApplication."""

    def __init__(
        self,
        app: NotificationsApplication,
        queue: DeliveryQueue,
        senders: Mapping[str, Sender],
        policy: Policy,
    ) -> None:
        self.app, self.queue, self.senders, self.policy = app, queue, senders, policy
        self.positions = PositionStore(queue.conninfo, "notification-queue")

    async def queue_new(self) -> int:
        """Queue the channels of notifications requested since the last pass."""
        position, _ = await self.positions.load()
        found = await in_thread(
            self.app.recorder.select_notifications,
            start=position,
            limit=500,
            inclusive_of_start=False,
        )
        for stored in found:
            event = readable(self.app.mapper, stored)
            if event is not None:  # an erased citizen's notification is never sent
                await self._queue(event)
        if found:
            await self.positions.save(found[-1].id, {})
        return len(found)

    async def _queue(self, event: Any) -> None:
        if isinstance(event, Notification.Requested):
            await self.queue.enqueue(
                [
                    {
                        "notification_id": event.originator_id,
                        "citizen_id": event.citizen_id,
                        "due_at": event.due_at,
                        **delivery,
                    }
                    for delivery in event.deliveries
                ]
            )
        elif isinstance(event, Notification.Withdrawn):
            await self.queue.withdraw(event.originator_id, self.app.clock())

    async def send_due(self) -> int:
        """Send what is due now; record the outcomes the notifications do not hold yet."""
        claimed = await self.queue.claim(self.app.clock(), self.policy.lease)
        for row in claimed:
            await self._deliver(row)
        await self.record_outcomes()
        return len(claimed)

    async def _deliver(self, row: Claimed) -> None:
        notification = await in_thread(self.app.notification, row.notification_id)
        message = Message(notification.subject, notification.text)
        now = self.app.clock
        try:
            if row.address is None:
                raise Undeliverable(f"no {row.channel} address on file")
            await self.senders[row.channel].send(row.address, message, _reference(row))
        except Undeliverable as refused:
            await self.queue.failed(row, str(refused), now())
        except DeliveryFailed as failure:
            if row.attempts >= self.policy.max_attempts:
                reason = f"undeliverable after {row.attempts} attempts: {failure}"
                await self.queue.failed(row, reason, now())
            else:
                due = now() + self.policy.backoff(row.attempts)
                await self.queue.retry(row, str(failure), due)
            log.warning(
                "delivery attempt failed",
                extra={
                    "notification_id": str(row.notification_id),
                    "channel": row.channel,
                    "attempts": row.attempts,
                    "reason": str(failure),
                },
            )
        else:
            await self.queue.sent(row, now())

    async def record_outcomes(self) -> None:
        for row in await self.queue.unrecorded():
            if row.status == "sent":
                await in_thread(
                    self.app.record_delivered,
                    row.notification_id,
                    row.channel,
                    row.attempts,
                    row.finished_at,
                )
            else:
                await in_thread(
                    self.app.record_failed,
                    row.notification_id,
                    row.channel,
                    row.reason or "failed",
                    row.attempts,
                    row.finished_at,
                )
            await self.queue.recorded(row)

    async def run_queuer(self, stop: asyncio.Event) -> None:
        """Follow the log as the one active queuer."""
        await self.queue.create()
        try:
            async with advisory_lock(self.queue.conninfo, "notification-queue") as lease:
                await lease.guard(self._every(stop, self.queue_new))
        finally:
            await self.positions.close()
            await self.queue.close()

    async def run_sender(self, stop: asyncio.Event) -> None:
        await self.queue.create()
        try:
            await self._every(stop, self.send_due)
        finally:
            await self.queue.close()

    async def _every(self, stop: asyncio.Event, step: Callable[[], Awaitable[int]]) -> None:
        while not stop.is_set():
            if not await step():
                await pause(stop, self.policy.interval)


def _reference(row: Claimed) -> str:
    return f"{row.notification_id}.{row.channel}"
