"""A proxy relationship: someone acting for a citizen (guardian, caregiver, healthcare proxy)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.proxy import SCOPES, ProxyKind

Status = Literal["pending", "active", "revoked", "ended"]
ADULTHOOD = 18
SEES_PROXIES_FROM = 16  # a minor sees who acts for them, and what they did, from 16


class ProxyRefused(ValueError):
    """A relationship the rules do not allow (self, an adult's guardian, a chain)."""


class ProxyNotInForce(Exception):
    """The relationship is not (or no longer) in force: pending, revoked, ended, not yet."""


class NotYours(Exception):
    """The caller is not the party this step belongs to (the proxy, the represented)."""


def birthday(born: date, years: int) -> date:
    """The day one turns `years` (a 29 February birthday falls on 1 March)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def check_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ProxyRefused(f"scopes must be some of {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in scopes)


class ProxyRelationship(Aggregate):
    """One proxy acting for one citizen within scopes, for a period, until revoked or ended."""

    class Established(Aggregate.Created):
        """An operator made a legal guardian of a minor (in force at once)."""

        represented_id: uuid.UUID
        proxy_id: uuid.UUID
        kind: ProxyKind
        scopes: tuple[str, ...]
        valid_from: date
        valid_until: date | None
        by: str
        documents: str

    class Appointed(Aggregate.Created):
        """The citizen (or an operator, from RENTEV) appointed a proxy; pending acceptance."""

        represented_id: uuid.UUID
        proxy_id: uuid.UUID
        kind: ProxyKind
        scopes: tuple[str, ...]
        valid_from: date
        valid_until: date | None
        by: str
        rentev_reference: str | None

    class Accepted(Aggregate.Event):
        represented_id: uuid.UUID  # both parties on every event: each is the relay's own
        proxy_id: uuid.UUID
        at: datetime

    class Revoked(Aggregate.Event):
        represented_id: uuid.UUID  # both parties on every event: each is the relay's own
        proxy_id: uuid.UUID
        by: str
        at: datetime

    class Ended(Aggregate.Event):
        represented_id: uuid.UUID  # both parties on every event: each is the relay's own
        proxy_id: uuid.UUID
        reason: str
        at: datetime

    def __init__(  # run by both creation events (their fields; no RENTEV for a guardian)
        self,
        represented_id: uuid.UUID,
        proxy_id: uuid.UUID,
        kind: ProxyKind,
        scopes: tuple[str, ...],
        valid_from: date,
        valid_until: date | None,
        by: str,
        rentev_reference: str | None = None,
        documents: str | None = None,
    ) -> None:
        self.documents = documents
        self.represented_id = represented_id
        self.proxy_id = proxy_id
        self.kind: ProxyKind = kind
        self.scopes = tuple(scopes)
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.by = by
        self.rentev_reference = rentev_reference
        # A guardian, checked by an operator, is in force at once; others once accepted.
        self.status: Status = "active" if kind == "legal_guardian" else "pending"

    @classmethod
    def establish_guardianship(
        cls,
        minor_id: uuid.UUID,
        guardian_id: uuid.UUID,
        minor_born: date,
        today: date,
        by: tuple[str, str],
    ) -> ProxyRelationship:
        """A legal guardian of a minor, ending by itself on the minor's 18th birthday."""
        if minor_id == guardian_id:
            raise ProxyRefused("a citizen cannot be their own guardian")
        of_age = birthday(minor_born, ADULTHOOD)
        if today >= of_age:
            raise ProxyRefused("a legal guardian is for a minor; this citizen is of age")
        return cls._create(
            cls.Established,
            represented_id=minor_id,
            proxy_id=guardian_id,
            kind="legal_guardian",
            scopes=SCOPES,
            valid_from=today,
            valid_until=of_age,
            by=by[0],
            documents=by[1],
        )

    @classmethod
    def appoint(
        cls,
        represented_id: uuid.UUID,
        proxy_id: uuid.UUID,
        kind: ProxyKind,
        scopes: tuple[str, ...],
        period: tuple[date, date | None],
        by: str,
        rentev_reference: str | None = None,
    ) -> ProxyRelationship:
        """An informal caregiver or a healthcare proxy, in force once the proxy accepts."""
        if kind == "legal_guardian":
            raise ProxyRefused("legal guardians are established by an operator")
        if represented_id == proxy_id:
            raise ProxyRefused("a citizen cannot appoint themselves")
        valid_from, valid_until = period
        if valid_until is not None and valid_until <= valid_from:
            raise ProxyRefused("the period ends before it starts")
        return cls._create(
            cls.Appointed,
            represented_id=represented_id,
            proxy_id=proxy_id,
            kind=kind,
            scopes=check_scopes(scopes),
            valid_from=valid_from,
            valid_until=valid_until,
            by=by,
            rentev_reference=rentev_reference,
        )

    def in_force(self, today: date) -> bool:
        """Active, and `today` within its period."""
        started = self.valid_from <= today
        not_over = self.valid_until is None or today < self.valid_until
        return self.status == "active" and started and not_over

    def check_in_force(self, today: date) -> None:
        if not self.in_force(today):
            raise ProxyNotInForce("this proxy relationship is not in force")

    def is_open(self) -> bool:
        return self.status in ("pending", "active")

    def accept(self, proxy_id: uuid.UUID, at: datetime) -> None:
        if proxy_id != self.proxy_id:
            raise NotYours("only the appointed proxy accepts")
        if self.status != "pending":
            raise ProxyNotInForce(f"this relationship is {self.status}, not pending")
        self._accepted(represented_id=self.represented_id, proxy_id=self.proxy_id, at=at)

    @event(Accepted)
    def _accepted(self, represented_id: uuid.UUID, proxy_id: uuid.UUID, at: datetime) -> None:
        self.status = "active"

    def revoke(self, by: str, at: datetime) -> None:
        if not self.is_open():
            raise ProxyNotInForce(f"this relationship is already {self.status}")
        self._revoked(represented_id=self.represented_id, proxy_id=self.proxy_id, by=by, at=at)

    @event(Revoked)
    def _revoked(
        self, represented_id: uuid.UUID, proxy_id: uuid.UUID, by: str, at: datetime
    ) -> None:
        self.status = "revoked"

    def is_due_to_end(self, today: date) -> bool:
        return self.is_open() and self.valid_until is not None and today >= self.valid_until

    def end(self, at: datetime, reason: str | None = None) -> None:
        """End it at the end of its period (a guardian's ward comes of age), or for `reason`."""
        if reason is None:
            reason = "came of age" if self.kind == "legal_guardian" else "period over"
        self._ended(
            represented_id=self.represented_id, proxy_id=self.proxy_id, reason=reason, at=at
        )

    @event(Ended)
    def _ended(
        self, represented_id: uuid.UUID, proxy_id: uuid.UUID, reason: str, at: datetime
    ) -> None:
        self.status = "ended"
