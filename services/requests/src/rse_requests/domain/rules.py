"""Rules that need no I/O: the booking window, TMRG deadlines, user-fee exemption."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from rse_shared.contracts import Priority

# Maximum guaranteed response times (TMRG) for a first hospital consultation, in days.
DEFAULT_TMRG_DAYS: Mapping[Priority, int] = {"normal": 120, "priority": 60, "very_urgent": 30}


def within_booking_window(starts_at: datetime, now: datetime, horizon_days: int) -> bool:
    """A slot can be booked if it starts after now and no later than `horizon_days` ahead."""
    return now < starts_at <= now + timedelta(days=horizon_days)


def tmrg_deadline(
    priority: Priority, registered_on: date, tmrg_days: Mapping[Priority, int]
) -> date:
    """The last day the first consultation may take place within the guaranteed time."""
    return registered_on + timedelta(days=tmrg_days[priority])


def tmrg_breached(deadline: date, today: date) -> bool:
    """An unscheduled referral breaches its TMRG once its deadline day has passed."""
    return today > deadline


def days_left(deadline: date, today: date) -> int:
    """Days until the deadline (0 on the day and after it)."""
    return max((deadline - today).days, 0)


def exempt_on(exemptions: Iterable[Mapping[str, Any]], today: date) -> bool:
    """Whether any granted exemption (ISO valid_from / valid_until, None = open) covers today."""
    day = today.isoformat()
    return any(
        (e.get("valid_from") or day) <= day <= (e.get("valid_until") or day) for e in exemptions
    )
