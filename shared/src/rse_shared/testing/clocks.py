"""A clock the test moves by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

D = TypeVar("D", date, datetime)


class ManualClock(Generic[D]):
    """A service's clock the test sets by hand (`clock.now = ...`, `clock.advance(...)`)."""

    def __init__(self, now: D) -> None:
        self.now: D = now

    def __call__(self) -> D:
        return self.now

    def advance(self, by: timedelta) -> D:
        self.now = self.now + by
        return self.now
