"""A citizen's activation at a health-unit counter: one-time codes, expiring, rate-limited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id


@dataclass(frozen=True)
class ActivationPolicy:
    """How long a code lasts, how many a citizen gets a day, how many guesses a code takes."""

    code_ttl: timedelta = timedelta(minutes=15)
    codes_per_day: int = 5
    attempts_per_code: int = 5


class ActivationRefused(Exception):
    """No such citizen, no live code, or a wrong one (the reason is never told apart)."""


class ActivationThrottled(Exception):
    """Too many codes issued for this citizen today."""

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__("too many activation codes today")
        self.retry_after = retry_after


class AlreadyActivated(Exception):
    """The citizen's account is already active."""


class Activation(Aggregate):
    """The pending activation of a citizen registered through the form.

    Holds the password hash chosen at registration (the account opens only once activated)
    and the one live code: only its hash is stored.
    """

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("activation", str(citizen_id))

    @event("Started")
    def __init__(self, citizen_id: uuid.UUID, password_hash: str) -> None:
        self.citizen_id = citizen_id
        self.password_hash = password_hash
        self.issued: list[datetime] = []
        self.code_hash: str | None = None
        self.expires_at: datetime | None = None
        self.attempts = 0
        self.completed = False

    def issue_code(self, code_hash: str, now: datetime, policy: ActivationPolicy) -> None:
        if self.completed:
            raise AlreadyActivated("already activated")
        today = [at for at in self.issued if now - at < timedelta(days=1)]
        if len(today) >= policy.codes_per_day:
            raise ActivationThrottled(min(today) + timedelta(days=1) - now)
        self._code_issued(code_hash=code_hash, at=now, expires_at=now + policy.code_ttl)

    @event("CodeIssued")
    def _code_issued(self, code_hash: str, at: datetime, expires_at: datetime) -> None:
        # A new code replaces the previous one, and its guesses start from zero.
        self.issued.append(at)
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.attempts = 0

    def code_is_live(self, now: datetime, policy: ActivationPolicy) -> bool:
        return (
            not self.completed
            and self.code_hash is not None
            and self.expires_at is not None
            and now < self.expires_at
            and self.attempts < policy.attempts_per_code
        )

    def try_code(
        self, matches: Callable[[str], bool], now: datetime, policy: ActivationPolicy
    ) -> bool:
        """True (and the code spent) if it matches the live code; a miss is counted."""
        if not self.code_is_live(now, policy) or self.code_hash is None:
            return False
        if matches(self.code_hash):
            self._completed(at=now)
            return True
        self._attempt_failed(at=now)
        return False

    @event("AttemptFailed")
    def _attempt_failed(self, at: datetime) -> None:
        self.attempts += 1

    @event("Completed")
    def _completed(self, at: datetime) -> None:
        self.completed = True
        self.code_hash = None
