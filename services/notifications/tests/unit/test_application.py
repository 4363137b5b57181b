"""notifications' use cases on in-memory persistence: events in, notifications out."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from rse_notifications.application import NotificationsApplication, reminder_source
from rse_notifications.domain.notification import Notification
from rse_notifications.domain.preferences import InvalidPreferences
from rse_shared.contracts import AccessAlertRaised, AppointmentBooked, AppointmentCancelled
from rse_shared.sealed import SealBroken, open_sealed, seal
from rse_shared.testing import Envelopes, ManualClock, feed
from rse_shared.topics import channel_topic

from ..builders import CODES, codes, contacts

CODES_TOPIC = channel_topic("records", "prescription-codes")
CONTACTS_TOPIC = channel_topic("identity", "contacts")


@pytest.fixture
def key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
def clock() -> ManualClock[datetime]:
    return ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))


@pytest.fixture
def app(key: X25519PrivateKey, clock: ManualClock[datetime]) -> NotificationsApplication:
    return NotificationsApplication(seal_key=key, clock=clock)


def notifications(app: NotificationsApplication) -> list[Notification.Requested]:
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 1000)]
    return [e for e in events if isinstance(e, Notification.Requested)]


def test_a_sealed_box_opens_only_with_its_key_and_context(key: X25519PrivateKey) -> None:
    box = seal(key.public_key(), {"access_code": "482913"}, "ctx:1")
    assert open_sealed(key, box, "ctx:1") == {"access_code": "482913"}
    with pytest.raises(SealBroken):
        open_sealed(key, box, "ctx:2")  # moved onto another citizen's event
    with pytest.raises(SealBroken):
        open_sealed(X25519PrivateKey.generate(), box, "ctx:1")
    assert "482913" not in box


def test_a_prescription_s_codes_go_to_the_citizen_s_email_and_phone(
    app: NotificationsApplication, key: X25519PrivateKey
) -> None:
    envelopes, citizen = Envelopes(), uuid.uuid4()
    feed(app, contacts(key.public_key(), envelopes, citizen), CONTACTS_TOPIC)
    feed(app, codes(key.public_key(), envelopes, citizen), CODES_TOPIC)
    (requested,) = notifications(app)
    assert requested.kind == "prescription"
    for code in CODES.values():
        assert code in requested.text
    assert requested.deliveries == [
        {"channel": "email", "address": "ana@example.pt"},
        {"channel": "sms", "address": "+351912345678"},
    ]


def test_a_redelivered_event_makes_no_second_notification(
    app: NotificationsApplication, key: X25519PrivateKey
) -> None:
    envelopes, citizen = Envelopes(), uuid.uuid4()
    feed(app, contacts(key.public_key(), envelopes, citizen), CONTACTS_TOPIC)
    event = codes(key.public_key(), envelopes, citizen)
    feed(app, event, CODES_TOPIC)
    feed(app, event, CODES_TOPIC)  # a relay's re-publication, at a new offset
    assert len(notifications(app)) == 1


def test_contacts_and_events_topics_keep_their_own_inbox_rows(
    app: NotificationsApplication, key: X25519PrivateKey
) -> None:
    """identity's contacts channel shares identity's positions: neither hides the other."""
    envelopes, citizen = Envelopes(), uuid.uuid4()
    later = contacts(key.public_key(), envelopes, citizen, email="new@example.pt")
    feed(app, later.model_copy(update={"source_position": 9}), CONTACTS_TOPIC)
    assert app.recipient(citizen).contacts["email"] == "new@example.pt"


def test_an_access_alert_names_who_and_what_never_values(
    app: NotificationsApplication, key: X25519PrivateKey
) -> None:
    envelopes, citizen = Envelopes(), uuid.uuid4()
    feed(app, contacts(key.public_key(), envelopes, citizen), CONTACTS_TOPIC)
    alert = AccessAlertRaised(
        **envelopes.envelope("consent", citizen),
        alert_id=uuid.uuid4(),
        access_id=uuid.uuid4(),
        practitioner_id="P-123",
        health_unit="USF Tejo",
        categories=("health_summary",),
        decision="emergency",
        accessed_at=datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
    )
    feed(app, alert)
    (requested,) = notifications(app)
    assert "P-123 (USF Tejo)" in requested.text
    assert "resumo de saúde" in requested.text
    assert "emergência" in requested.text


def test_a_booking_is_confirmed_and_reminded_a_day_before_unless_cancelled(
    app: NotificationsApplication, key: X25519PrivateKey
) -> None:
    envelopes, citizen, appointment = Envelopes(), uuid.uuid4(), uuid.uuid4()
    starts = datetime(2026, 12, 10, 9, tzinfo=UTC)
    booked = AppointmentBooked(
        **envelopes.envelope("requests", citizen),
        appointment_id=appointment,
        slot_id=uuid.uuid4(),
        practitioner_id="P-1",
        health_unit="USF Tejo",
        starts_at=starts,
    )
    feed(app, booked)
    confirmation, reminder = notifications(app)
    assert confirmation.kind == "appointment"
    assert reminder.kind == "appointment_reminder"
    assert reminder.due_at == starts - timedelta(hours=24)
    cancelled = AppointmentCancelled(
        **envelopes.envelope("requests", citizen),
        appointment_id=appointment,
        slot_id=booked.slot_id,
        cancelled_by="citizen",
        reason="cannot come",
    )
    feed(app, cancelled)
    withdrawn = app.notification(
        Notification.create_id(reminder_source(appointment), "appointment_reminder")
    )
    assert withdrawn.withdrawn


def test_prescriptions_keep_at_least_one_channel(app: NotificationsApplication) -> None:
    with pytest.raises(InvalidPreferences):
        app.choose_preferences(uuid.uuid4(), {"prescription": []})
    chosen = app.choose_preferences(uuid.uuid4(), {"prescription": ["sms"], "renewal": []})
    assert chosen.channels["prescription"] == ("sms",)
    assert chosen.channels["renewal"] == ()
