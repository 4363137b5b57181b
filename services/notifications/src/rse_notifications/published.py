"""What notifications publishes: each channel's outcome, never a message's text.

Requests, withdrawals and recipients stay inside the service: their text may hold a
prescription's codes, and the contacts are identity's to share.
"""

from __future__ import annotations

from rse_notifications.domain.notification import Notification
from rse_shared.contracts import IntegrationEvent, NotificationDelivered, NotificationFailed
from rse_shared.published import Envelope, Publisher

to_integration_event = Publisher("notifications")


@to_integration_event.translates(Notification.Delivered)
def delivered(event: Notification.Delivered, envelope: Envelope) -> IntegrationEvent:
    return NotificationDelivered(
        **envelope,
        notification_id=event.originator_id,
        kind=event.kind,
        channel=event.channel,
        delivered_at=event.at,
    )


@to_integration_event.translates(Notification.Failed)
def failed(event: Notification.Failed, envelope: Envelope) -> IntegrationEvent:
    return NotificationFailed(
        **envelope,
        notification_id=event.originator_id,
        kind=event.kind,
        channel=event.channel,
        reason=event.reason,
        attempts=event.attempts,
        failed_at=event.at,
    )
