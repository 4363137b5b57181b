"""Notifications' use cases: other services' events become notifications to the citizen.

Each handler turns one event into at most one Notification per kind (its id derives from
the event, so a second copy finds it there) addressed through the citizen's Recipient;
the dispatcher (rse_notifications.delivery) sends it and records each channel's outcome.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import singledispatchmethod
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from rse_notifications.domain import messages
from rse_notifications.domain.messages import Message
from rse_notifications.domain.notification import Notification
from rse_notifications.domain.preferences import Kind
from rse_notifications.domain.recipient import Recipient
from rse_shared.clock import Clock, utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import (
    AccessAlertRaised,
    AppointmentBooked,
    AppointmentCancelled,
    CitizenDeregistered,
    CitizenRegistered,
    ContactsSealed,
    ExemptionDecided,
    IntegrationEvent,
    MedicationRenewalDecided,
    PrescriptionCodesSealed,
    ReferralStatusChanged,
)
from rse_shared.sealed import open_sealed

REMINDER_LEAD = timedelta(hours=24)


class NotificationNotFound(LookupError):
    """No such notification."""


def reminder_source(appointment_id: uuid.UUID) -> uuid.UUID:
    """The reminder's key: the appointment, so that its cancellation finds the reminder."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"appointment-reminder:{appointment_id}")


class NotificationsApplication(ConsumerApplication):
    """Turns events into notifications and records how their delivery went."""

    name = "notifications"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        seal_key: X25519PrivateKey,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(env)
        self.seal_key = seal_key
        self.clock = clock

    # --- commands

    def choose_preferences(
        self, citizen_id: uuid.UUID, channels: dict[str, list[str]]
    ) -> Recipient:
        recipient = self._recipient(citizen_id)
        recipient.choose(channels)
        self.save(recipient)
        return recipient

    def record_delivered(
        self, notification_id: uuid.UUID, channel: str, attempts: int, at: datetime
    ) -> None:
        notification = self.notification(notification_id)
        notification.record_delivered(channel, attempts, at)
        self.save(notification)

    def record_failed(
        self, notification_id: uuid.UUID, channel: str, reason: str, attempts: int, at: datetime
    ) -> None:
        notification = self.notification(notification_id)
        notification.record_failed(channel, reason, attempts, at)
        self.save(notification)

    # --- queries

    def notification(self, notification_id: uuid.UUID) -> Notification:
        try:
            found: object = self.repository.get(notification_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Notification):
            raise NotificationNotFound(f"notification {notification_id} not found")
        return found

    def recipient(self, citizen_id: uuid.UUID) -> Recipient:
        """The citizen's recipient, or a new one with the defaults (not saved)."""
        return self._recipient(citizen_id)

    def _recipient(self, citizen_id: uuid.UUID) -> Recipient:
        try:
            recipient: Recipient = self.repository.get(Recipient.create_id(citizen_id))
        except AggregateNotFoundError:
            recipient = Recipient(citizen_id)
        return recipient

    def _exists(self, aggregate_id: uuid.UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _request(
        self,
        event: IntegrationEvent,
        kind: Kind,
        message: Message,
        processing_event: ProcessingEvent[uuid.UUID],
        *,
        source: uuid.UUID | None = None,
        due_at: datetime | None = None,
    ) -> None:
        """One notification of `kind` for `event`, unless it exists already."""
        source_id = source or event.event_id
        if self._exists(Notification.create_id(source_id, kind)):
            return
        recipient = self._recipient(event.citizen_id)
        deliveries = recipient.addresses_for(kind)
        if not deliveries:
            return
        notification = Notification(
            citizen_id=event.citizen_id,
            kind=kind,
            source_event_id=source_id,
            subject=message.subject,
            text=message.text,
            deliveries=deliveries,
            due_at=due_at or self.clock(),
        )
        processing_event.collect_events(notification)

    # --- events in

    @singledispatchmethod
    def handle(self, event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events are no one's notification."""

    @handle.register(CitizenRegistered)
    def when_citizen_registered_open_recipient(
        self, event: CitizenRegistered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        if not self._exists(Recipient.create_id(event.citizen_id)):
            processing_event.collect_events(Recipient(event.citizen_id))

    @handle.register(ContactsSealed)
    def when_contacts_sealed_keep_them(
        self, event: ContactsSealed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        contacts = open_sealed(self.seal_key, event.sealed, event.seal_context)
        recipient = self._recipient(event.citizen_id)
        recipient.change_contacts({k: str(v) for k, v in contacts.items()})
        processing_event.collect_events(recipient)

    @handle.register(CitizenDeregistered)
    def when_citizen_deregistered_stop_notifying(
        self, event: CitizenDeregistered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        recipient = self._recipient(event.citizen_id)
        recipient.deregister()
        processing_event.collect_events(recipient)

    @handle.register(PrescriptionCodesSealed)
    def when_prescription_issued_send_its_codes(
        self, event: PrescriptionCodesSealed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        codes = open_sealed(self.seal_key, event.sealed, event.seal_context)
        message = messages.prescription(
            str(codes["prescription_number"]),
            str(codes["access_code"]),
            str(codes["choice_code"]),
            event.valid_until,
        )
        self._request(event, "prescription", message, processing_event)

    @handle.register(AccessAlertRaised)
    def when_access_alert_raised_tell_the_citizen(
        self, event: AccessAlertRaised, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        self._request(event, "access_alert", messages.access_alert(event), processing_event)

    @handle.register(AppointmentBooked)
    def when_appointment_booked_confirm_and_remind(
        self, event: AppointmentBooked, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        self._request(event, "appointment", messages.appointment_booked(event), processing_event)
        remind_at = event.starts_at - REMINDER_LEAD
        if remind_at > self.clock():  # booked less than a day ahead: the confirmation will do
            self._request(
                event,
                "appointment_reminder",
                messages.appointment_reminder(event),
                processing_event,
                source=reminder_source(event.appointment_id),
                due_at=remind_at,
            )

    @handle.register(AppointmentCancelled)
    def when_appointment_cancelled_tell_and_withdraw_reminder(
        self, event: AppointmentCancelled, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        self._request(event, "appointment", messages.appointment_cancelled(event), processing_event)
        reminder_id = Notification.create_id(
            reminder_source(event.appointment_id), "appointment_reminder"
        )
        if self._exists(reminder_id):
            reminder = self.notification(reminder_id)
            reminder.withdraw("appointment cancelled")
            processing_event.collect_events(reminder)

    @handle.register(MedicationRenewalDecided)
    def when_renewal_decided_tell_the_outcome(
        self, event: MedicationRenewalDecided, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        self._request(event, "renewal", messages.renewal_decided(event), processing_event)

    @handle.register(ExemptionDecided)
    def when_exemption_decided_tell_the_outcome(
        self, event: ExemptionDecided, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        self._request(event, "exemption", messages.exemption_decided(event), processing_event)

    @handle.register(ReferralStatusChanged)
    def when_referral_scheduled_or_late_tell_the_citizen(
        self, event: ReferralStatusChanged, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        message = messages.referral_changed(event)
        if message is not None:
            self._request(event, "referral", message, processing_event)
