"""An exemption from user fees (isenção de taxas moderadoras): requested, decided, lapsed."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.benefits import ExemptionCategory

Status = Literal["pending", "granted", "denied", "expired", "cancelled"]


class ExemptionNotPending(Exception):
    """Only a pending request can be decided or cancelled."""


class ExemptionNotGranted(Exception):
    """Only a granted exemption can lapse or be renewed."""


class InvalidDecision(ValueError):
    """An officer's decision that breaks a rule."""


class Exemption(Aggregate):
    """One request for an exemption, from the request to its decision and lapse."""

    # The events are declared, not left to `@event("...")`, so that mypy sees them
    # (the projection and the translator name them); their fields are the methods' arguments.
    class Requested(Aggregate.Created):
        citizen_id: uuid.UUID
        category: ExemptionCategory
        evidence: list[dict[str, Any]]
        income_per_person: Decimal | None
        requested_on: date
        renews: uuid.UUID | None

    # Decided and Expired repeat the citizen and category so each event stands on its own
    # (the relay and an auditor replaying the store need no other event to read them).
    class Decided(Aggregate.Event):
        citizen_id: uuid.UUID
        category: ExemptionCategory
        decision: Literal["granted", "denied"]
        basis: Literal["rule", "officer"]
        valid_from: date | None
        valid_until: date | None
        reason: str
        decided_by: str | None

    class Expired(Aggregate.Event):
        citizen_id: uuid.UUID
        category: ExemptionCategory
        expired_on: date

    class Cancelled(Aggregate.Event):
        reason: str

    @event(Requested)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        category: ExemptionCategory,
        evidence: list[dict[str, Any]],
        income_per_person: Decimal | None,
        requested_on: date,
        renews: uuid.UUID | None,
    ) -> None:
        self.citizen_id = citizen_id
        self.category = category
        self.status: Status = "pending"
        self.valid_until: date | None = None
        self.renews = renews

    def check_pending(self) -> None:
        if self.status != "pending":
            raise ExemptionNotPending(f"exemption is {self.status}")

    def decide(
        self,
        decision: Literal["granted", "denied"],
        basis: Literal["rule", "officer"],
        valid_from: date | None,
        valid_until: date | None,
        reason: str,
        decided_by: str | None = None,
    ) -> None:
        self.check_pending()
        self._decided(
            citizen_id=self.citizen_id,
            category=self.category,
            decision=decision,
            basis=basis,
            valid_from=valid_from,
            valid_until=valid_until,
            reason=reason,
            decided_by=decided_by,
        )

    @event(Decided)
    def _decided(
        self,
        citizen_id: uuid.UUID,
        category: ExemptionCategory,
        decision: Literal["granted", "denied"],
        basis: Literal["rule", "officer"],
        valid_from: date | None,
        valid_until: date | None,
        reason: str,
        decided_by: str | None,
    ) -> None:
        self.status = decision
        self.valid_until = valid_until

    def is_due_to_expire(self, today: date) -> bool:
        return (
            self.status == "granted" and self.valid_until is not None and self.valid_until < today
        )

    def expire(self, today: date) -> None:
        if not self.is_due_to_expire(today):
            raise ExemptionNotGranted("exemption is not due to expire")
        self._expired(citizen_id=self.citizen_id, category=self.category, expired_on=today)

    @event(Expired)
    def _expired(
        self, citizen_id: uuid.UUID, category: ExemptionCategory, expired_on: date
    ) -> None:
        self.status = "expired"

    def cancel(self, reason: str) -> None:
        self.check_pending()
        self._cancelled(reason=reason)

    @event(Cancelled)
    def _cancelled(self, reason: str) -> None:
        self.status = "cancelled"
