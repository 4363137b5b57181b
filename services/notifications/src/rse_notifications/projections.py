"""Notifications' read model in MongoDB: each citizen's notifications and their outcomes.

Metadata only: the kind, the channels and how each went, never the text (it may hold a
prescription's codes) nor the address.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Literal

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from rse_notifications.domain.notification import Notification
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import Document, Instant, stored

Status = Literal["pending", "sent", "failed", "withdrawn"]


class ChannelOutcome(BaseModel):
    """How one channel of a notification went, and when."""

    status: Status
    at: Instant | None = None
    reason: str | None = None
    attempts: int | None = None


class NotificationDocument(Document):
    """One notification to a citizen."""

    citizen_id: str
    kind: str
    subject: str
    requested_at: Instant
    due_at: Instant
    channels: dict[str, ChannelOutcome]


class NotificationBook:
    """One document per notification: kind, subject, and each channel's outcome."""

    name = "notification_book"
    collections: tuple[str, ...] = ("notifications",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.notifications.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Recipient events do not change the book."""

    @apply.register(Notification.Requested)
    async def when_notification_requested_list_it(
        self, event: Notification.Requested, position: int, db: AsyncDatabase[Any]
    ) -> None:
        fields = {
            "citizen_id": str(event.citizen_id),
            "kind": event.kind,
            "subject": event.subject,
            "requested_at": event.timestamp,
            "due_at": event.due_at,
        }
        for delivery in event.deliveries:
            fields[f"channels.{delivery['channel']}"] = {"status": "pending"}
        await _set(db, event, position, fields)

    @apply.register(Notification.Delivered)
    async def when_delivered_mark_it_sent(
        self, event: Notification.Delivered, position: int, db: AsyncDatabase[Any]
    ) -> None:
        outcome = {"status": "sent", "at": event.at, "attempts": event.attempts}
        await _set(db, event, position, {f"channels.{event.channel}": outcome})

    @apply.register(Notification.Failed)
    async def when_failed_keep_the_reason(
        self, event: Notification.Failed, position: int, db: AsyncDatabase[Any]
    ) -> None:
        outcome = {
            "status": "failed",
            "at": event.at,
            "reason": event.reason,
            "attempts": event.attempts,
        }
        await _set(db, event, position, {f"channels.{event.channel}": outcome})

    @apply.register(Notification.Withdrawn)
    async def when_withdrawn_mark_pending_channels(
        self, event: Notification.Withdrawn, position: int, db: AsyncDatabase[Any]
    ) -> None:
        doc = await db.notifications.find_one({"_id": str(event.originator_id)})
        channels = (doc or {}).get("channels", {})
        fields = {
            f"channels.{name}": {"status": "withdrawn", "reason": event.reason}
            for name, outcome in channels.items()
            if outcome.get("status") == "pending"
        }
        if fields:
            await _set(db, event, position, fields)


async def _set(db: AsyncDatabase[Any], event: Any, position: int, fields: dict[str, Any]) -> None:
    await guarded_upsert(
        db.notifications, {"_id": str(event.originator_id)}, position, {"$set": stored(fields)}
    )


async def notifications_of(db: AsyncDatabase[Any], citizen_id: str) -> list[NotificationDocument]:
    """A citizen's notifications, newest first."""
    cursor = db.notifications.find({"citizen_id": citizen_id}).sort("requested_at", -1)
    return NotificationDocument.all(await cursor.to_list())
