from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from rse_requests.domain.rules import (
    DEFAULT_TMRG_DAYS,
    days_left,
    exempt_on,
    tmrg_breached,
    tmrg_deadline,
    within_booking_window,
)
from rse_shared.contracts import Priority

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def test_a_slot_starting_now_or_earlier_cannot_be_booked() -> None:
    assert not within_booking_window(NOW, NOW, 60)
    assert not within_booking_window(NOW - TICK, NOW, 60)


def test_a_slot_starting_just_after_now_can_be_booked() -> None:
    assert within_booking_window(NOW + TICK, NOW, 60)


def test_a_slot_exactly_at_the_horizon_can_be_booked_one_tick_later_cannot() -> None:
    horizon = NOW + timedelta(days=60)
    assert within_booking_window(horizon, NOW, 60)
    assert not within_booking_window(horizon + TICK, NOW, 60)


def test_the_horizon_is_configurable() -> None:
    assert within_booking_window(NOW + timedelta(days=7), NOW, 7)
    assert not within_booking_window(NOW + timedelta(days=7) + TICK, NOW, 7)


def test_the_window_compares_instants_whatever_their_offset() -> None:
    summer_time = timezone(timedelta(hours=1))
    same_instant = NOW.astimezone(summer_time)
    assert not within_booking_window(same_instant, NOW, 60)
    assert within_booking_window(same_instant + TICK, NOW, 60)


@pytest.mark.parametrize(
    ("priority", "days"), [("normal", 120), ("priority", 60), ("very_urgent", 30)]
)
def test_the_tmrg_deadline_follows_the_priority(priority: Priority, days: int) -> None:
    registered = date(2026, 12, 1)
    deadline = tmrg_deadline(priority, registered, DEFAULT_TMRG_DAYS)
    assert deadline == registered + timedelta(days=days)


def test_tmrg_days_come_from_configuration() -> None:
    custom: dict[Priority, int] = {"normal": 90, "priority": 45, "very_urgent": 15}
    assert tmrg_deadline("very_urgent", date(2026, 1, 1), custom) == date(2026, 1, 16)


def test_a_referral_breaches_only_once_its_deadline_day_has_passed() -> None:
    deadline = date(2027, 3, 31)
    assert not tmrg_breached(deadline, date(2027, 3, 30))
    assert not tmrg_breached(deadline, deadline)
    assert tmrg_breached(deadline, date(2027, 4, 1))


def test_days_left_count_down_to_zero_and_stay_there() -> None:
    deadline = date(2027, 1, 10)
    assert days_left(deadline, date(2027, 1, 1)) == 9
    assert days_left(deadline, deadline) == 0
    assert days_left(deadline, date(2027, 2, 1)) == 0


def test_an_exemption_covers_the_days_of_its_validity_only() -> None:
    granted = [{"valid_from": "2026-11-01", "valid_until": "2026-11-30"}]
    assert not exempt_on(granted, date(2026, 10, 31))
    assert exempt_on(granted, date(2026, 11, 1))
    assert exempt_on(granted, date(2026, 11, 30))
    assert not exempt_on(granted, date(2026, 12, 1))
    assert exempt_on([{"valid_from": None, "valid_until": None}], date(2030, 1, 1))
    assert not exempt_on([], date(2026, 11, 15))
