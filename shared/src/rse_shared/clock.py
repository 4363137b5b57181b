"""The one clock of the platform: aware UTC instants, injectable for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware, in UTC."""


def utcnow() -> datetime:
    """The current instant in UTC (the default clock of every service)."""
    return datetime.now(UTC)


def today(clock: Clock = utcnow) -> date:
    """The current date in UTC: what 'today' means for dates stored by the platform."""
    return clock().astimezone(UTC).date()


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a time without a zone is taken to be UTC already.

    Raises OverflowError for a time that UTC cannot express (beyond year 9999 once converted).
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
