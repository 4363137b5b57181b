import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rse_consent.application import AlertNotFound, ConsentApplication, ConsentNotFound
from rse_consent.domain.access import Access
from rse_consent.domain.alert import AccessAlert
from rse_consent.domain.consent import ConsentNotActive, Grantee, InvalidConsent
from rse_consent.domain.privileged_read import PrivilegedRead
from rse_shared.contracts import CATEGORIES
from rse_shared.testing import ManualClock, feed

from ..builders import a_personal_data_read, an_access

DAY = timedelta(days=1)


Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(clock: Clock) -> ConsentApplication:
    return ConsentApplication(clock=clock)


def recorded(app: ConsentApplication, kind: type, citizen_id: uuid.UUID) -> list[Any]:
    """The citizen's domain events of `kind`, in the order they were saved."""
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 1000)]
    return [e for e in events if isinstance(e, kind) and e.citizen_id == citizen_id]


def test_a_grant_to_a_professional_of_all_categories_is_saved_explicit(
    app: ConsentApplication,
) -> None:
    citizen = uuid.uuid4()
    consent = app.grant(
        citizen, Grantee("professional", "P-100"), ["all"], valid_until=app.clock() + 30 * DAY
    )
    stored = app.consent(consent.id)
    assert stored.categories == CATEGORIES and stored.citizen_id == citizen
    assert stored.valid_from == app.clock() and stored.purpose == "treatment"


def test_a_grant_starting_in_the_past_is_refused_and_nothing_saved(
    app: ConsentApplication,
) -> None:
    with pytest.raises(InvalidConsent):
        app.grant(uuid.uuid4(), Grantee("all_sns"), ["vaccinations"], valid_from=app.clock() - DAY)
    assert app.recorder.max_notification_id() in (None, 0)


def test_a_citizen_revokes_their_consent_but_not_anothers(
    app: ConsentApplication, clock: Clock
) -> None:
    citizen, other = uuid.uuid4(), uuid.uuid4()
    consent = app.grant(citizen, Grantee("health_unit", "USF Tejo"), ["prescriptions"])
    with pytest.raises(ConsentNotFound):
        app.revoke(other, consent.id)
    clock.now += DAY
    assert app.revoke(citizen, consent.id).revoked_at == clock.now
    with pytest.raises(ConsentNotActive):
        app.revoke(citizen, consent.id)


def test_an_unknown_consent_is_not_found(app: ConsentApplication) -> None:
    with pytest.raises(ConsentNotFound):
        app.revoke(uuid.uuid4(), uuid.uuid4())


def test_expiry_is_idempotent_and_only_when_the_end_date_came(
    app: ConsentApplication, clock: Clock
) -> None:
    consent = app.grant(uuid.uuid4(), Grantee("all_sns"), ["all"], valid_until=clock.now + DAY)
    assert not app.expire_if_due(consent.id)
    clock.now += DAY
    assert app.expire_if_due(consent.id)
    assert not app.expire_if_due(consent.id)
    assert app.consent(consent.id).expired_at == clock.now
    assert app.consent(consent.id).version == 2


def test_a_permitted_read_is_in_the_history_and_not_alerted_by_default(
    app: ConsentApplication,
) -> None:
    citizen = uuid.uuid4()
    feed(app, an_access(citizen, 1))
    assert len(recorded(app, Access.Recorded, citizen)) == 1
    assert recorded(app, AccessAlert.Raised, citizen) == []


def test_an_emergency_read_is_always_alerted(app: ConsentApplication) -> None:
    citizen = uuid.uuid4()
    access = an_access(citizen, 1, decision="emergency")
    feed(app, access)
    [alert] = recorded(app, AccessAlert.Raised, citizen)
    assert alert.access_id == access.access_id
    assert alert.causation_id == access.event_id


def test_an_opted_in_citizen_is_alerted_of_every_read_and_attempt(
    app: ConsentApplication,
) -> None:
    citizen = uuid.uuid4()
    assert app.choose_access_alerts(citizen, True)
    feed(app, an_access(citizen, 1))
    feed(app, an_access(citizen, 2, decision="deny"))
    assert [a.decision for a in recorded(app, AccessAlert.Raised, citizen)] == ["permit", "deny"]


def test_after_opting_out_only_emergencies_are_alerted(app: ConsentApplication) -> None:
    citizen = uuid.uuid4()
    app.choose_access_alerts(citizen, True)
    assert not app.choose_access_alerts(citizen, False)
    feed(app, an_access(citizen, 1))
    feed(app, an_access(citizen, 2, decision="emergency"))
    assert [a.decision for a in recorded(app, AccessAlert.Raised, citizen)] == ["emergency"]


def test_a_re_published_access_is_applied_once(app: ConsentApplication) -> None:
    citizen = uuid.uuid4()
    access = an_access(citizen, 1, decision="emergency")
    feed(app, access)
    feed(app, access)  # the same event at a new offset (records' relay re-published it)
    feed(app, access.model_copy(update={"source_position": 2}))  # same access, new position
    assert len(recorded(app, Access.Recorded, citizen)) == 1
    assert len(recorded(app, AccessAlert.Raised, citizen)) == 1


def test_a_citizen_marks_their_alert_read_but_not_anothers(
    app: ConsentApplication, clock: Clock
) -> None:
    citizen = uuid.uuid4()
    access = an_access(citizen, 1, decision="emergency")
    feed(app, access)
    alert_id = AccessAlert.create_id(access.access_id)
    with pytest.raises(AlertNotFound):
        app.mark_alert_read(uuid.uuid4(), alert_id)
    app.mark_alert_read(citizen, alert_id)
    app.mark_alert_read(citizen, alert_id)
    alert: AccessAlert = app.repository.get(alert_id)
    assert alert.read_at == clock.now and alert.version == 2


def test_an_access_reported_without_a_time_zone_is_taken_as_utc(app: ConsentApplication) -> None:
    citizen = uuid.uuid4()
    feed(app, an_access(citizen, 1, accessed_at=datetime(2026, 11, 27, 9, 30)))
    [access] = recorded(app, Access.Recorded, citizen)
    assert access.accessed_at == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def test_an_operators_read_reported_by_identity_is_kept_once(app: ConsentApplication) -> None:
    citizen = uuid.uuid4()
    read = a_personal_data_read(citizen, 1)
    feed(app, read)
    feed(app, read.model_copy(update={"event_id": uuid.uuid4(), "source_position": 2}))
    [kept] = recorded(app, PrivilegedRead.Recorded, citizen)
    assert (kept.read_id, kept.actor_id, kept.role) == (read.read_id, "op-account-1", "operator")
    assert kept.purpose == read.purpose and kept.seen == "personal_data"
    assert kept.entries == [{"id": str(citizen), "kind": "personal_data"}]


def test_an_auditors_read_is_saved_with_what_was_shown(
    app: ConsentApplication, clock: Clock
) -> None:
    citizen = uuid.uuid4()
    app.record_privileged_read(
        citizen, "aud-1", "auditor", "yearly review", "consents", [("c-1", "consent")]
    )
    [kept] = recorded(app, PrivilegedRead.Recorded, citizen)
    assert (kept.actor_id, kept.role, kept.purpose) == ("aud-1", "auditor", "yearly review")
    assert kept.entries == [{"id": "c-1", "kind": "consent"}] and kept.read_at == clock()
    assert recorded(app, AccessAlert.Raised, citizen) == []
