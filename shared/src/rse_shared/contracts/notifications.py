"""Integration events published by the notifications service on `notifications.events`.

Metadata only: which notification, of what kind, on which channel and how it went;
never its text (a prescription's codes) nor the address.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from rse_shared.contracts.envelope import IntegrationEvent, contract


@contract
class NotificationDelivered(IntegrationEvent):
    """The SMTP relay or the SMS gateway took the citizen's notification on one channel."""

    notification_id: uuid.UUID
    kind: str
    channel: str
    delivered_at: datetime


@contract
class NotificationFailed(IntegrationEvent):
    """A notification could not be delivered on one channel (after its attempts), and why.

    The reason is the gateway's text, which may quote the address: protected.
    """

    protected_fields: ClassVar[tuple[str, ...]] = ("reason",)

    notification_id: uuid.UUID
    kind: str
    channel: str
    reason: str
    attempts: int
    failed_at: datetime


__all__ = ["NotificationDelivered", "NotificationFailed"]
