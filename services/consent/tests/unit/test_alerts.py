from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from rse_consent.domain.alert import AccessAlert, alert_due
from rse_consent.domain.alert_preferences import AlertPreferences

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("opted_in", "decision", "alerted"),
    [
        (False, "permit", False),
        (False, "deny", False),
        (False, "emergency", True),
        (True, "permit", True),
        (True, "deny", True),
        (True, "emergency", True),
    ],
)
def test_emergency_access_is_always_alerted_other_access_only_if_opted_in(
    opted_in: bool,
    decision: str,
    alerted: bool,
) -> None:
    assert alert_due(opted_in, decision) is alerted  # type: ignore[arg-type]


def test_access_alerts_are_off_until_the_citizen_opts_in() -> None:
    preferences = AlertPreferences(uuid4())
    assert not preferences.access_alerts
    preferences.choose(True, NOW)
    assert preferences.access_alerts
    preferences.choose(False, NOW)
    assert not preferences.access_alerts


def test_choosing_what_is_already_chosen_records_nothing() -> None:
    preferences = AlertPreferences(uuid4())
    preferences.choose(False, NOW)
    preferences.choose(True, NOW)
    preferences.choose(True, NOW)
    names = [type(e).__name__ for e in preferences.collect_events()]
    assert names == ["Opened", "OptedIn"]


def test_an_alert_is_one_per_access() -> None:
    access_id = uuid4()
    assert AccessAlert.create_id(access_id) == AccessAlert.create_id(access_id)
    assert AccessAlert.create_id(access_id) != AccessAlert.create_id(uuid4())


def test_an_alert_read_twice_stays_read_as_of_the_first_time() -> None:
    alert = AccessAlert(
        citizen_id=uuid4(),
        access_id=uuid4(),
        practitioner_id="P-1",
        health_unit=None,
        categories=("vaccinations",),
        decision="emergency",
        accessed_at=NOW,
        causation_id=None,
        correlation_id=None,
    )
    alert.mark_read(NOW + timedelta(hours=1))
    alert.mark_read(NOW + timedelta(hours=2))
    assert alert.read_at == NOW + timedelta(hours=1)
    assert len(alert.collect_events()) == 2
