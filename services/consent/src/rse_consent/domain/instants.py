"""Instants kept in UTC, so every stored time compares and sorts the same way."""

from __future__ import annotations

from datetime import UTC, datetime


class InstantOutOfRange(ValueError):
    """A time that cannot be expressed in UTC (beyond year 9999 once converted)."""


def as_utc(at: datetime) -> datetime:
    """The same instant in UTC; a time without a zone is taken to be UTC already."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise InstantOutOfRange(f"{at.isoformat()} is out of range") from None
