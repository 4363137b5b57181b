"""A consent: a citizen lets a grantee read some categories of their record, for a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.clock import as_utc
from rse_shared.contracts.consent import CATEGORIES, Category, GranteeKind, Purpose

ALL = "all"
Status = Literal["pending", "active", "revoked", "expired"]


class InvalidConsent(ValueError):
    """A consent that breaks a rule: grantee, categories or validity window."""


class ConsentNotActive(Exception):
    """The consent was already revoked, or has lapsed, or is not due to lapse."""


class ConsentNotVisible(LookupError):
    """Not (yet) in the consent book, or not this citizen's."""


def expand_categories(requested: Iterable[str]) -> tuple[Category, ...]:
    """The explicit categories of a request, in canonical order; "all" stands for every one."""
    wanted = set(requested)
    if not wanted:
        raise InvalidConsent("a consent needs at least one category")
    unknown = wanted - {*CATEGORIES, ALL}
    if unknown:
        raise InvalidConsent(f"unknown categories: {', '.join(sorted(unknown))}")
    if ALL in wanted:
        return CATEGORIES
    return tuple(c for c in CATEGORIES if c in wanted)


@dataclass(frozen=True)
class Grantee:
    """Who may read: one professional, one health unit, or every SNS professional."""

    kind: GranteeKind
    id: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "all_sns" and self.id is not None:
            raise InvalidConsent("a consent to all SNS professionals names no grantee id")
        if self.kind != "all_sns" and not (self.id and self.id.strip()):
            raise InvalidConsent(f"a consent to a {self.kind.replace('_', ' ')} needs its id")


@dataclass(frozen=True)
class Validity:
    """When a consent could be relied on, answerable for any instant, past or future.

    Windows are half-open: in force from `valid_from` (inclusive) until the earliest of
    `valid_until`, `revoked_at` and `expired_at` (exclusive). Before `granted_at` the
    consent did not exist, so an answer about the past never changes after the fact.
    """

    granted_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None = None
    expired_at: datetime | None = None

    def status_at(self, at: datetime) -> Status | None:
        """The consent's status at `at`, or None if it had not been granted yet."""
        if at < self.granted_at:
            return None
        if self.revoked_at is not None and at >= self.revoked_at:
            return "revoked"
        if any(end is not None and at >= end for end in (self.valid_until, self.expired_at)):
            return "expired"
        return "pending" if at < self.valid_from else "active"

    def in_force(self, at: datetime) -> bool:
        return self.status_at(at) == "active"


def in_utc(moment: datetime) -> datetime:
    """A validity date in UTC; it must say its time zone."""
    if moment.tzinfo is None:
        raise InvalidConsent("validity dates need a time zone")
    try:
        return as_utc(moment)
    except OverflowError:
        raise InvalidConsent(f"{moment.isoformat()} is out of range") from None


def check_window(valid_from: datetime, valid_until: datetime | None, now: datetime) -> None:
    """A window starting now or later and ending after it starts."""
    # Starting in the past would claim an authorisation the citizen never gave then.
    if valid_from < now:
        raise InvalidConsent("a consent cannot start in the past")
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidConsent("a consent must end after it starts")


class Consent(Aggregate):
    """One authorisation of a citizen to one grantee, from its grant to its revocation or lapse."""

    class Granted(Aggregate.Created):
        """The citizen authorised the grantee, for these categories and this window."""

        citizen_id: uuid.UUID
        grantee_kind: GranteeKind
        grantee_id: str | None
        categories: tuple[Category, ...]
        purpose: Purpose
        valid_from: datetime
        valid_until: datetime | None
        granted_at: datetime
        # A proxy who gave it for the citizen (their citizen id); the consent is the citizen's.
        given_by: str | None = None

    # Revoked and Expired repeat the citizen so each event stands on its own (for the relay,
    # the projections and an auditor replaying the store).
    class Revoked(Aggregate.Event):
        """The citizen withdrew the consent from this instant on."""

        citizen_id: uuid.UUID
        revoked_at: datetime

    class Expired(Aggregate.Event):
        """The consent lapsed at its end date."""

        citizen_id: uuid.UUID
        expired_at: datetime

    @event(Granted)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        grantee_kind: GranteeKind,
        grantee_id: str | None,
        categories: tuple[Category, ...],
        purpose: Purpose,
        valid_from: datetime,
        valid_until: datetime | None,
        granted_at: datetime,
        given_by: str | None = None,
    ) -> None:
        self.citizen_id = citizen_id
        self.given_by = given_by
        self.grantee = Grantee(grantee_kind, grantee_id)
        self.categories = tuple(categories)
        self.purpose = purpose
        self.granted_at = granted_at
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.revoked_at: datetime | None = None
        self.expired_at: datetime | None = None

    @classmethod
    def grant(
        cls,
        citizen_id: uuid.UUID,
        grantee: Grantee,
        categories: Iterable[str],
        now: datetime,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        purpose: Purpose = "treatment",
        given_by: str | None = None,
    ) -> Consent:
        start = in_utc(valid_from or now)
        end = in_utc(valid_until) if valid_until else None
        check_window(start, end, now)
        return cls(
            citizen_id=citizen_id,
            grantee_kind=grantee.kind,
            grantee_id=grantee.id,
            categories=expand_categories(categories),
            purpose=purpose,
            valid_from=start,
            valid_until=end,
            granted_at=in_utc(now),
            given_by=given_by,
        )

    @property
    def validity(self) -> Validity:
        return Validity(
            self.granted_at, self.valid_from, self.valid_until, self.revoked_at, self.expired_at
        )

    def check_not_ended(self, now: datetime) -> None:
        status = self.validity.status_at(now)
        if status in ("revoked", "expired"):
            raise ConsentNotActive(f"consent is already {status}")

    def revoke(self, now: datetime) -> None:
        self.check_not_ended(now)
        self._revoked(citizen_id=self.citizen_id, revoked_at=as_utc(now))

    @event(Revoked)
    def _revoked(self, citizen_id: uuid.UUID, revoked_at: datetime) -> None:
        self.revoked_at = revoked_at

    def is_due_to_expire(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.expired_at is None
            and self.valid_until is not None
            and self.valid_until <= now
        )

    def expire(self, now: datetime) -> None:
        if not self.is_due_to_expire(now):
            raise ConsentNotActive("consent is not due to expire")
        assert self.valid_until is not None
        # It lapsed at its end date, not when a worker noticed: history stays exact.
        self._expired(citizen_id=self.citizen_id, expired_at=self.valid_until)

    @event(Expired)
    def _expired(self, citizen_id: uuid.UUID, expired_at: datetime) -> None:
        self.expired_at = expired_at
