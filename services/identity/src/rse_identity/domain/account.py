"""A login account: credentials, optional TOTP second factor, failed-login throttling."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from rse_shared.auth import Role
from rse_shared.eventstore import natural_id


@dataclass(frozen=True)
class LoginPolicy:
    """After `slow_after` failures each attempt waits longer; at `lock_after`, a lock-out."""

    slow_after: int = 3
    lock_after: int = 5
    lock_for: timedelta = timedelta(minutes=15)

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.slow_after:
            return timedelta(0)
        return timedelta(seconds=2 ** (failures - self.slow_after))


class LoginRefused(Exception):
    """Wrong username, password or second factor (the reason is never told apart)."""


class LoginThrottled(Exception):
    """Too many failures: try again later."""

    def __init__(self, retry_after: timedelta, locked: bool) -> None:
        super().__init__("account locked" if locked else "too many failed attempts; slow down")
        self.retry_after = retry_after
        self.locked = locked


class AccountClosed(Exception):
    """The account was closed (citizen deregistered)."""


class TotpNotStarted(Exception):
    """TOTP confirmation without an enrolment in progress."""


class Account(Aggregate):
    """Credentials and claims of one user, citizen or staff, by username."""

    @staticmethod
    def create_id(username: str) -> uuid.UUID:
        return natural_id("account", username)

    @event("Opened")
    def __init__(
        self, username: str, password_hash: str, role: Role, claims: dict[str, Any]
    ) -> None:
        self.username = username
        self.password_hash = password_hash
        self.role = role
        self.claims = claims
        self.totp_secret: str | None = None
        self.totp_pending: str | None = None
        self.failures = 0
        self.last_failure: datetime | None = None
        self.locked_until: datetime | None = None
        self.closed = False

    def check_may_attempt(self, now: datetime, policy: LoginPolicy) -> None:
        if self.closed:
            raise AccountClosed("account closed")
        if self.locked_until is not None and now < self.locked_until:
            raise LoginThrottled(self.locked_until - now, locked=True)
        if self.last_failure is not None:
            ready_at = self.last_failure + policy.wait_after(self.failures)
            if now < ready_at:
                raise LoginThrottled(ready_at - now, locked=False)

    def login_failed(self, now: datetime, policy: LoginPolicy) -> None:
        failures = self.failures + 1
        locked_until = now + policy.lock_for if failures >= policy.lock_after else None
        self._login_failed(at=now, locked_until=locked_until)

    @event("LoginFailed")
    def _login_failed(self, at: datetime, locked_until: datetime | None) -> None:
        self.failures = 0 if locked_until else self.failures + 1
        self.last_failure = None if locked_until else at
        self.locked_until = locked_until

    def login_succeeded(self) -> None:
        if self.failures or self.locked_until:
            self._failures_cleared()

    @event("FailuresCleared")
    def _failures_cleared(self) -> None:
        self.failures = 0
        self.last_failure = None
        self.locked_until = None

    @property
    def needs_second_factor(self) -> bool:
        return self.totp_secret is not None

    @event("TotpEnrolmentStarted")
    def start_totp_enrolment(self, secret: str) -> None:
        self.totp_pending = secret

    def confirm_totp(self) -> None:
        if self.totp_pending is None:
            raise TotpNotStarted("no TOTP enrolment in progress")
        self._totp_enabled()

    @event("TotpEnabled")
    def _totp_enabled(self) -> None:
        self.totp_secret = self.totp_pending
        self.totp_pending = None

    @event("Closed")
    def close(self) -> None:
        self.closed = True
