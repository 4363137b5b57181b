"""Accountable access, under records' application: reads, writes and lists decided and recorded,
break-the-glass counted against a daily quota, and emergency accesses reviewed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from rse_records.domain.access_decision import AccessDecision, authorised_categories, decide
from rse_records.domain.care_relationship import CareRelationship, Writer, relationship_of
from rse_records.domain.care_team import CareTeam
from rse_records.domain.consent_register import ConsentRegister
from rse_records.domain.emergency import (
    AlreadyReviewed,
    EmergencyQuota,
    EmergencyQuotaExceeded,
    EmergencyReview,
    NotAnEmergency,
    QuotaRefusal,
)
from rse_records.domain.health_record import HealthRecord, RecordNotFound
from rse_records.domain.record_access import EntryRefs, RecordAccess
from rse_shared.clock import Clock, today, utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import Category
from rse_shared.contracts.records import ReviewOutcome

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

DEFAULT_EMERGENCY_QUOTA = 5
# Optimistic saves that lost a race are retried on the aggregates as they now are.
ATTEMPTS = 10


class NoCareRelationship(Exception):
    """The writer has no care relationship with the citizen: the same 403 for any record."""


@dataclass(frozen=True)
class Reader:
    """A professional reading a record, as their access token names them."""

    practitioner_id: str
    health_unit: str | None


def stated(reason: str | None) -> str | None:
    """A reason with something in it, or None."""
    return reason.strip() if reason and reason.strip() else None


class AccessApplication(ConsumerApplication):
    """The decisions on who reaches a record, each recorded as an access with what it named."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock = utcnow,
        emergency_quota: int = DEFAULT_EMERGENCY_QUOTA,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.emergency_quota = emergency_quota

    def today(self) -> date:
        """Today in UTC, by the application's clock."""
        return today(self.clock)

    def authorise_read(
        self,
        citizen_id: uuid.UUID,
        reader: Reader,
        categories: Sequence[Category],
        purpose: str | None,
        emergency_reason: str | None = None,
        entries: EntryRefs | None = None,
    ) -> AccessDecision:
        """Decide a professional's read against the consents in the event store; record it."""

        def attempt() -> AccessDecision:
            now = self.clock()
            decision = decide(
                self.consent_register(citizen_id),
                reader.practitioner_id,
                reader.health_unit,
                categories,
                now,
                emergency_reason,
            )
            access = RecordAccess(
                citizen_id=citizen_id,
                practitioner_id=reader.practitioner_id,
                health_unit=reader.health_unit,
                categories=list(categories),
                purpose=purpose,
                emergency_reason=stated(emergency_reason),
                decision=decision.decision,
                consent_id=decision.consent_id,
                accessed_at=now,
                actor_id=reader.practitioner_id,
                entries=list(entries or []) if decision.allowed else [],
            )
            self._save_access(access)
            return decision

        return self._retrying(attempt)

    def write(
        self,
        citizen_id: uuid.UUID,
        writer: Writer,
        category: Category,
        emergency_reason: str | None,
        change: Callable[[HealthRecord], EntryRefs],
    ) -> None:
        """Apply `change` to the record if a care relationship allows it; record the write."""

        def attempt() -> None:
            now = self.clock()
            tie = self.relationship(citizen_id, writer, category, now, emergency_reason)
            if tie is None:
                self.save(self._write_access(citizen_id, writer, category, now, None, [], None))
                raise NoCareRelationship("no care relationship with the citizen allows this")
            record = self.record(citizen_id)
            entries = change(record)
            reason = stated(emergency_reason) if tie.relationship == "emergency" else None
            self._save_access(
                self._write_access(citizen_id, writer, category, now, tie, entries, reason), record
            )

        self._retrying(attempt)

    def relationship(
        self,
        citizen_id: uuid.UUID,
        writer: Writer,
        category: Category,
        now: datetime,
        emergency_reason: str | None,
    ) -> CareRelationship | None:
        """The writer's tie to the citizen, or a stated emergency (a professional's only)."""
        tie = relationship_of(
            self.care_team(citizen_id), self.consent_register(citizen_id), writer, category, now
        )
        if tie is None and writer.role == "professional" and stated(emergency_reason):
            return CareRelationship("emergency")
        return tie

    def _write_access(
        self,
        citizen_id: uuid.UUID,
        writer: Writer,
        category: Category,
        now: datetime,
        tie: CareRelationship | None,
        entries: EntryRefs,
        emergency_reason: str | None,
    ) -> RecordAccess:
        emergency = tie is not None and tie.relationship == "emergency"
        return RecordAccess(
            citizen_id=citizen_id,
            practitioner_id=writer.actor_id,
            health_unit=writer.health_unit or writer.hospital,
            categories=[category],
            purpose="treatment",
            emergency_reason=emergency_reason,
            decision="deny" if tie is None else "emergency" if emergency else "permit",
            consent_id=tie.consent_id if tie else None,
            accessed_at=now,
            action="write",
            role=writer.role,
            actor_id=writer.actor_id,
            entries=entries,
            relationship=tie.relationship if tie else None,
        )

    def renewal_written(
        self, citizen_id: uuid.UUID, practitioner_id: str, prescription_id: uuid.UUID
    ) -> RecordAccess:
        """The write of a prescription issued from a renewal the family doctor approved
        (requests sends a citizen's renewals to their family doctor alone)."""
        doctor = Writer(practitioner_id, "professional")
        tie = CareRelationship("family_doctor")
        entries = [{"id": str(prescription_id), "kind": "prescription"}]
        return self._write_access(
            citizen_id, doctor, "prescriptions", self.clock(), tie, entries, None
        )

    def record_listing(
        self, reader: Reader, listed: Mapping[str, frozenset[Category]], purpose: str
    ) -> None:
        """Each citizen shown on a professional's patient list gets an access of its own."""
        now = self.clock()
        self.save(
            *(
                RecordAccess(
                    citizen_id=uuid.UUID(citizen),
                    practitioner_id=reader.practitioner_id,
                    health_unit=reader.health_unit,
                    categories=sorted(categories),
                    purpose=purpose,
                    emergency_reason=None,
                    decision="permit",
                    consent_id=None,
                    accessed_at=now,
                    action="list",
                    actor_id=reader.practitioner_id,
                    entries=[],
                )
                for citizen, categories in listed.items()
            )
        )

    def categories_listed(self, citizen_id: uuid.UUID, reader: Reader) -> frozenset[Category]:
        """What a consent naming `reader` or their unit (not all-SNS) lets them read now."""
        return authorised_categories(
            self.consent_register(citizen_id),
            reader.practitioner_id,
            reader.health_unit,
            self.clock(),
            named_only=True,
        )

    def categories_authorised(self, citizen_id: uuid.UUID, reader: Reader) -> frozenset[Category]:
        """What `reader` may read of the citizen's record right now, under consent."""
        return authorised_categories(
            self.consent_register(citizen_id),
            reader.practitioner_id,
            reader.health_unit,
            self.clock(),
        )

    def may_read(self, citizen_id: uuid.UUID, writer: Writer, category: Category) -> bool:
        """Whether the writer may read that category under a consent right now."""
        if writer.practitioner_id is None:
            return False
        reader = Reader(writer.practitioner_id, writer.health_unit)
        return category in self.categories_authorised(citizen_id, reader)

    # --- break-the-glass: the quota and the review

    def _save_access(self, access: RecordAccess, *changed: Aggregate) -> None:
        """Save an access (and what it changed); an emergency takes one of the day's quota."""
        if access.decision != "emergency":
            self.save(*changed, access)
            return
        day = self.today()
        quota = self.quota_of(access.practitioner_id, day)
        if quota.left(self.emergency_quota) == 0:
            self.save(
                QuotaRefusal(
                    access.citizen_id,
                    access.practitioner_id,
                    day,
                    self.emergency_quota,
                    self.clock(),
                )
            )
            raise EmergencyQuotaExceeded("the day's emergency accesses are used up")
        quota.take(access.id)
        self.save(quota, *changed, access)

    def quota_of(self, practitioner_id: str, day: date) -> EmergencyQuota:
        quota = self._get(EmergencyQuota.create_id(practitioner_id, day), EmergencyQuota)
        return quota or EmergencyQuota(practitioner_id, day)

    def review_emergency(
        self, access_id: uuid.UUID, outcome: ReviewOutcome, note: str, auditor_id: str
    ) -> None:
        """An auditor's judgement of an emergency access, once."""
        access = self._get(access_id, RecordAccess)
        if access is None or access.decision != "emergency":
            raise NotAnEmergency(f"no emergency access {access_id}")
        review = EmergencyReview(
            citizen_id=access.citizen_id,
            access_id=access_id,
            outcome=outcome,
            note=note,
            reviewed_by=auditor_id,
            reviewed_at=self.clock(),
        )
        try:
            self.save(review)
        except IntegrityError:
            raise AlreadyReviewed(f"emergency access {access_id} was reviewed") from None

    # --- what the decisions read

    def consent_register(self, citizen_id: uuid.UUID) -> ConsentRegister | None:
        return self._get(ConsentRegister.create_id(citizen_id), ConsentRegister)

    def care_team(self, citizen_id: uuid.UUID) -> CareTeam | None:
        return self._get(CareTeam.create_id(citizen_id), CareTeam)

    def record(self, citizen_id: uuid.UUID) -> HealthRecord:
        record = self._get(HealthRecord.create_id(citizen_id), HealthRecord)
        if record is None:
            raise RecordNotFound("no health record for that citizen")
        return record

    def _get(self, aggregate_id: uuid.UUID, kind: type[A]) -> A | None:
        """The aggregate of that kind, or None (a wrong kind is as good as missing)."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    @staticmethod
    def _retrying(attempt: Callable[[], T]) -> T:
        """Run `attempt` again while another save won the race for the same aggregates."""
        for _ in range(ATTEMPTS - 1):
            try:
                return attempt()
            except IntegrityError:
                continue
        return attempt()
