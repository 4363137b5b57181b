import uuid
from datetime import UTC, datetime, timedelta

from eventsourcing.persistence import Tracking

from rse_consent.application import ConsentApplication
from rse_consent.domain.consent import Consent, Grantee
from rse_consent.published import to_integration_event
from rse_shared.contracts import (
    CATEGORIES,
    AccessAlertRaised,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    parse_event,
    stable_event_id,
)

from ..builders import an_access

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def published(app: ConsentApplication) -> list[object]:
    notifications = app.recorder.select_notifications(1, 1000)
    events = [to_integration_event(app.mapper.to_domain_event(n), n.id) for n in notifications]
    return [e for e in events if e is not None]


def test_a_grant_is_published_with_its_explicit_categories_keyed_by_citizen() -> None:
    consent = Consent.grant(
        uuid.uuid4(),
        Grantee("health_unit", "USF Tejo"),
        ["all"],
        NOW,
        valid_until=NOW + timedelta(days=1),
    )
    event = to_integration_event(consent.collect_events()[0], 7)
    assert isinstance(event, ConsentGranted)
    assert event.categories == CATEGORIES and event.citizen_id == consent.citizen_id
    assert event.consent_id == consent.id and event.source_position == 7
    assert event.event_id == stable_event_id(consent.id, 1) and event.producer == "consent"
    assert parse_event(event.to_wire()) == event


def test_revocation_and_expiry_are_published_with_their_instants() -> None:
    consent = Consent.grant(
        uuid.uuid4(), Grantee("all_sns"), ["referrals"], NOW, valid_until=NOW + timedelta(days=1)
    )
    consent.revoke(NOW + timedelta(hours=1))
    lapsing = Consent.grant(
        uuid.uuid4(), Grantee("all_sns"), ["referrals"], NOW, valid_until=NOW + timedelta(days=1)
    )
    lapsing.expire(NOW + timedelta(days=2))
    revoked = to_integration_event(consent.collect_events()[-1], 2)
    expired = to_integration_event(lapsing.collect_events()[-1], 4)
    assert isinstance(revoked, ConsentRevoked) and revoked.revoked_at == NOW + timedelta(hours=1)
    assert isinstance(expired, ConsentExpired) and expired.expired_at == NOW + timedelta(days=1)


def test_only_consents_and_alerts_leave_the_service() -> None:
    app = ConsentApplication(clock=lambda: NOW)
    citizen = uuid.uuid4()
    app.choose_access_alerts(citizen, True)
    access = an_access(citizen, 1, decision="emergency")
    app.process_event(access, Tracking("records.events:0", 1))  # type: ignore[arg-type]
    [alert] = published(app)
    assert isinstance(alert, AccessAlertRaised)
    assert alert.access_id == access.access_id and alert.decision == "emergency"
    assert alert.causation_id == access.event_id and alert.correlation_id == access.event_id
    assert alert.citizen_id == citizen and alert.practitioner_id == "P-100"
