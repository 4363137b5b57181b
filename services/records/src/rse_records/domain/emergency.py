"""Break-the-glass accountability: a daily quota per professional and the auditors' review."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.records import ReviewOutcome
from rse_shared.eventstore import natural_id


class EmergencyQuotaExceeded(Exception):
    """The professional used every emergency access the day allows."""


class NotAnEmergency(LookupError):
    """No emergency access with that id."""


class AlreadyReviewed(Exception):
    """An auditor reviewed that emergency access before."""


class EmergencyQuota(Aggregate):
    """One per professional per day: each emergency access takes one, in the same save.

    Two parallel requests load the same version; only one can save the next, so the last
    access of the day is taken once (the other retries and finds none left).
    """

    class Opened(Aggregate.Created):
        practitioner_id: str
        day: date

    class Taken(Aggregate.Event):
        access_id: uuid.UUID

    @staticmethod
    def create_id(practitioner_id: str, day: date) -> uuid.UUID:
        return natural_id("emergency-quota", f"{practitioner_id}/{day.isoformat()}")

    @event(Opened)
    def __init__(self, practitioner_id: str, day: date) -> None:
        self.practitioner_id = practitioner_id
        self.day = day
        self.used = 0

    def left(self, quota: int) -> int:
        return max(quota - self.used, 0)

    def take(self, access_id: uuid.UUID) -> None:
        self._taken(access_id=access_id)

    @event(Taken)
    def _taken(self, access_id: uuid.UUID) -> None:
        self.used += 1


class QuotaRefusal(Aggregate):
    """An emergency access refused beyond the quota: an alert for auditors.

    An aggregate of its own (random id), so refusals never contend with the accesses
    that take the quota, nor with each other.
    """

    class Exceeded(Aggregate.Created):
        citizen_id: uuid.UUID
        practitioner_id: str
        day: date
        quota: int
        attempted_at: datetime

    @event(Exceeded)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        practitioner_id: str,
        day: date,
        quota: int,
        attempted_at: datetime,
    ) -> None:
        self.citizen_id = citizen_id


class EmergencyReview(Aggregate):
    """An auditor's judgement of one emergency access: one per access, never changed."""

    class Reviewed(Aggregate.Created):
        citizen_id: uuid.UUID
        access_id: uuid.UUID
        outcome: ReviewOutcome
        note: str
        reviewed_by: str
        reviewed_at: datetime

    @staticmethod
    def create_id(access_id: uuid.UUID) -> uuid.UUID:
        return natural_id("emergency-review", str(access_id))

    @event(Reviewed)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        access_id: uuid.UUID,
        outcome: ReviewOutcome,
        note: str,
        reviewed_by: str,
        reviewed_at: datetime,
    ) -> None:
        self.access_id = access_id
        self.outcome = outcome
