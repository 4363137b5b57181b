"""A login account: credentials, a TOTP second factor, and the staff lifecycle.

Failed logins are counted apart (rse_identity.login_guard), not in the aggregate: one
version per failure let parallel guesses overwrite each other's count.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from rse_identity.domain.number_release import claim_key
from rse_shared.auth import Role
from rse_shared.eventstore import natural_id


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


class AccountDeactivated(Exception):
    """An operator deactivated this staff account."""


class NotStaff(Exception):
    """Only staff accounts are deactivated and reactivated."""


class TotpEnrolled(Exception):
    """A second factor is enrolled: replacing it needs the current password and a code."""


class TotpNotStarted(Exception):
    """TOTP confirmation without an enrolment in progress."""


class Account(Aggregate):
    """Credentials and claims of one user, citizen or staff, by username."""

    # Declared (not left to `@event("...")`) where the translator names them, for mypy.
    class Deactivated(Aggregate.Event):
        at: datetime
        role: Role
        tokens_expire_by: datetime

    class Reactivated(Aggregate.Event):
        at: datetime
        role: Role

    @staticmethod
    def create_id(username: str, generation: int = 0) -> uuid.UUID:
        """A citizen's account (username: the SNS number) takes the generation of the
        number's claim, so an erased citizen's number opens a new account."""
        return natural_id("account", claim_key(username, generation))

    @staticmethod
    def citizen_in(event: object) -> uuid.UUID | None:
        """Whose key seals the event: a citizen's account opening (its username is the SNS
        number) is shredded with the citizen; the rest is under the store key."""
        claims = getattr(event, "claims", None)
        citizen = claims.get("citizen_id") if isinstance(claims, dict) else None
        return uuid.UUID(str(citizen)) if citizen else None

    @event("Opened")
    def __init__(
        self,
        username: str,
        password_hash: str,
        role: Role,
        claims: dict[str, Any],
        generation: int = 0,
    ) -> None:
        self.username = username
        self.password_hash = password_hash
        self.role = role
        self.claims = claims
        self.totp_secret: str | None = None
        self.totp_pending: str | None = None
        # The last TOTP time step accepted: a code is good once, and never an older one.
        self.totp_last_step: int | None = None
        self.closed = False
        self.deactivated_at: datetime | None = None

    @property
    def is_staff(self) -> bool:
        return self.role != "citizen"

    def check_may_log_in(self) -> None:
        if self.closed:
            raise AccountClosed("account closed")
        if self.deactivated_at is not None:
            raise AccountDeactivated("account deactivated")

    # Accounts stored before failures moved to login_guard replay these two events.
    @event("LoginFailed")
    def _login_failed(self, at: datetime, locked_until: datetime | None) -> None:
        pass

    @event("FailuresCleared")
    def _failures_cleared(self) -> None:
        pass

    @event("TotpCodeUsed")
    def use_totp_step(self, step: int) -> None:
        self.totp_last_step = step

    @event("PasswordChanged")
    def change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def deactivate(self, at: datetime, tokens_live_for: timedelta) -> None:
        """No more logins; tokens issued until `at` are void (they expire by the bound)."""
        if not self.is_staff:
            raise NotStaff("only staff accounts are deactivated; citizens are deregistered")
        if self.deactivated_at is None:
            self._deactivated(at=at, role=self.role, tokens_expire_by=at + tokens_live_for)

    @event(Deactivated)
    def _deactivated(self, at: datetime, role: Role, tokens_expire_by: datetime) -> None:
        self.deactivated_at = at

    def reactivate(self, at: datetime) -> None:
        if not self.is_staff:
            raise NotStaff("only staff accounts are reactivated")
        if self.deactivated_at is not None:
            self._reactivated(at=at, role=self.role)

    @event(Reactivated)
    def _reactivated(self, at: datetime, role: Role) -> None:
        self.deactivated_at = None

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
