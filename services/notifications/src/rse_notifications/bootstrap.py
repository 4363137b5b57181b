"""Notifications' composition root: everything built from one Settings object."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from rse_notifications import api
from rse_notifications.application import NotificationNotFound, NotificationsApplication
from rse_notifications.config import Settings
from rse_notifications.delivery.dispatcher import Dispatcher, Policy
from rse_notifications.delivery.queue import DeliveryQueue
from rse_notifications.delivery.senders import NoSmsGateway, Sender, SmsGateway, SmtpSender
from rse_notifications.domain.preferences import InvalidPreferences
from rse_notifications.projections import NotificationBook
from rse_notifications.published import to_integration_event
from rse_shared.auth import TokenVerifier
from rse_shared.clock import Clock, utcnow
from rse_shared.sealed import load_private_key
from rse_shared.service import Service, assemble
from rse_shared.topics import consumed_by, events_topic

log = logging.getLogger(__name__)

ERRORS: dict[type[Exception], int] = {NotificationNotFound: 404, InvalidPreferences: 422}


def senders(settings: Settings) -> dict[str, Sender]:
    """The SMTP relay and the SMS gateway (off if none is configured), from settings."""
    return {
        "email": SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_secret(),
            starttls=settings.smtp_starttls,
            ca_file=settings.smtp_ca_file,
        ),
        "sms": sms_sender(settings),
    }


def sms_sender(settings: Settings) -> Sender:
    if settings.sms_gateway_url is None:
        log.warning("SMS off: no SMS gateway configured (RSE_SMS_GATEWAY_URL)")
        return NoSmsGateway()
    password = settings.sms_gateway_password
    return SmsGateway(
        url=settings.sms_gateway_url,
        template=settings.sms_payload_template,
        sender_id=settings.sms_sender,
        username=settings.sms_gateway_username,
        password=password.get_secret_value() if password else None,
    )


def policy(settings: Settings) -> Policy:
    return Policy(
        interval=settings.dispatch_interval,
        max_attempts=settings.delivery_max_attempts,
        first_retry=timedelta(seconds=settings.delivery_first_retry),
        last_retry=timedelta(seconds=settings.delivery_last_retry),
    )


def bootstrap(
    settings: Settings,
    *,
    topic: str | None = None,
    consumes: Sequence[str] | None = None,
    verifier: TokenVerifier | None = None,
    clock: Clock = utcnow,
    channels: Mapping[str, Sender] | None = None,
) -> Service:
    """Build notifications from settings; nothing connects until it is used or started.

    It consumes the topology's `consumed_by("notifications")`, the two restricted
    channels (prescription codes, contacts) among them, and sends through `channels`
    (default: SMTP and the SMS gateway from settings).
    """
    if settings.seal_key_file is None:
        raise ValueError("RSE_SEAL_KEY_FILE must name notifications' X25519 private key")
    app = NotificationsApplication(
        env=settings.eventstore_env(),
        seal_key=load_private_key(settings.seal_key_file),
        clock=clock,
    )
    queue = DeliveryQueue(settings.postgres_conninfo())
    dispatcher = Dispatcher(app, queue, channels or senders(settings), policy(settings))
    return assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("notifications"),
        projections=[NotificationBook()],
        consumes=consumed_by("notifications") if consumes is None else consumes,
        routers=[api.citizens],
        errors=ERRORS,
        verifier=verifier,
        state={"delivery_queue": queue},
        extra_workers={"queuer": dispatcher.run_queuer, "sender": dispatcher.run_sender},
    )
