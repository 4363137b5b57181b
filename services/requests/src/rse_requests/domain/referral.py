"""A SIGA referral for a first hospital consultation, watched against its TMRG deadline.

It belongs to the hospital it was made to: only that hospital's staff schedule, complete
or cancel it; the register withdraws it when the citizen leaves, the clock flags a breach.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_requests.domain.rules import tmrg_breached, tmrg_deadline
from rse_shared.contracts import Priority

ReferralStatus = Literal["registered", "scheduled", "completed", "cancelled", "tmrg_breached"]
NewStatus = Literal["scheduled", "completed", "cancelled", "tmrg_breached"]
# Waiting for the hospital: these can still be scheduled or cancelled.
UNSCHEDULED: tuple[ReferralStatus, ...] = ("registered", "tmrg_breached")


class ReferralTransitionRefused(Exception):
    """The change does not follow from the referral's status."""


class InvalidReferralDate(ValueError):
    """A consultation cannot be scheduled in the past."""


class NotTheReferralsHospital(Exception):
    """Only the staff of the hospital a referral was made to may move it on."""


@dataclass(frozen=True)
class HospitalStaff:
    """A member of a hospital's staff: their account and the hospital they work for."""

    account_id: str
    hospital: str | None

    role = "hospital_staff"


class Referral(Aggregate):
    """registered -> scheduled -> completed; cancelled while open; TMRG breached if unscheduled."""

    @classmethod
    def register(
        cls,
        citizen_id: uuid.UUID,
        specialty: str,
        hospital: str,
        priority: Priority,
        today: date,
        tmrg_days: Mapping[Priority, int],
        practitioner_id: str,
        health_unit: str,
    ) -> Referral:
        return cls(
            citizen_id=citizen_id,
            specialty=specialty,
            hospital=hospital,
            priority=priority,
            registered_on=today,
            deadline=tmrg_deadline(priority, today, tmrg_days),
            practitioner_id=practitioner_id,
            health_unit=health_unit,
        )

    class Registered(Aggregate.Created):
        citizen_id: uuid.UUID
        specialty: str
        hospital: str
        priority: Priority
        registered_on: date
        deadline: date
        practitioner_id: str
        health_unit: str

    @event(Registered)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        specialty: str,
        hospital: str,
        priority: Priority,
        registered_on: date,
        deadline: date,
        practitioner_id: str,
        health_unit: str,
    ) -> None:
        self.citizen_id = citizen_id
        self.specialty = specialty
        self.hospital = hospital
        self.priority = priority
        self.registered_on = registered_on
        self.deadline = deadline
        self.practitioner_id = practitioner_id
        self.health_unit = health_unit
        self.status: ReferralStatus = "registered"
        self.scheduled_for: date | None = None
        self.reason: str | None = None
        self.tmrg_breached = False

    @property
    def is_open(self) -> bool:
        return self.status not in ("completed", "cancelled")

    def check_is_of(self, staff: HospitalStaff) -> None:
        # First of all: another hospital learns nothing of the referral, not even its status.
        if staff.hospital is None or staff.hospital != self.hospital:
            raise NotTheReferralsHospital("only the referral's hospital may change its status")

    def schedule(self, scheduled_for: date, today: date, by: HospitalStaff) -> None:
        self.check_is_of(by)
        if not self.is_open:
            raise ReferralTransitionRefused(f"the referral is {self.status}")
        if scheduled_for < today:
            raise InvalidReferralDate("a consultation cannot be scheduled in the past")
        self._changed("scheduled", scheduled_for=scheduled_for, by=by)

    def complete(self, by: HospitalStaff) -> None:
        self.check_is_of(by)
        if self.status != "scheduled":
            raise ReferralTransitionRefused("only a scheduled referral can be completed")
        self._changed("completed", scheduled_for=self.scheduled_for, by=by)

    def cancel(self, reason: str, by: HospitalStaff) -> None:
        self.check_is_of(by)
        self.withdraw(reason, by)

    def withdraw(self, reason: str, by: HospitalStaff | None = None) -> None:
        """Cancel it on the register's account (the citizen left), or the hospital's."""
        if not self.is_open:
            raise ReferralTransitionRefused(f"the referral is {self.status}")
        self._changed("cancelled", reason=reason, by=by)

    def is_breach_due(self, today: date) -> bool:
        return self.status == "registered" and tmrg_breached(self.deadline, today)

    def flag_breach(self, today: date) -> None:
        if not self.is_breach_due(today):
            raise ReferralTransitionRefused("the referral is scheduled, closed or within TMRG")
        self._changed("tmrg_breached", reason=f"unscheduled after the deadline {self.deadline}")

    def _changed(
        self,
        status: NewStatus,
        scheduled_for: date | None = None,
        reason: str | None = None,
        by: HospitalStaff | None = None,
    ) -> None:
        self._status_changed(
            citizen_id=self.citizen_id,
            status=status,
            scheduled_for=scheduled_for,
            reason=reason,
            changed_by=by.account_id if by else None,
            changed_by_role=by.role if by else None,
        )

    class StatusChanged(Aggregate.Event):
        citizen_id: uuid.UUID
        status: NewStatus
        scheduled_for: date | None
        reason: str | None
        # Who changed it (None: the platform itself); events stored before them lack both.
        changed_by: str | None = None
        changed_by_role: str | None = None

    @event(StatusChanged)
    def _status_changed(
        self,
        citizen_id: uuid.UUID,
        status: NewStatus,
        scheduled_for: date | None,
        reason: str | None,
        changed_by: str | None = None,
        changed_by_role: str | None = None,
    ) -> None:
        self.status = status
        self.scheduled_for = scheduled_for
        self.reason = reason
        self.tmrg_breached = self.tmrg_breached or status == "tmrg_breached"
