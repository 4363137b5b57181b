"""A request to renew chronic medications, to the family doctor, followed up to its prescription."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal

from eventsourcing.domain import Aggregate, event

RenewalStatus = Literal["pending", "approved", "rejected", "prescribed", "cancelled"]


class RenewalNotPending(Exception):
    """Only a pending request can be decided, moved or cancelled."""


class RenewalNotApproved(Exception):
    """A prescription answers an approved request only."""


class NotTheAddressedDoctor(Exception):
    """Only the doctor the request is addressed to may decide it."""


class InvalidRenewalDecision(ValueError):
    """An approval with items not requested, or a validity out of bounds."""


class RenewalRequest(Aggregate):
    """One request: pending -> approved -> prescribed, or rejected, or cancelled."""

    class Requested(Aggregate.Created):
        citizen_id: uuid.UUID
        medications: list[dict[str, str]]
        practitioner_id: str
        health_unit: str

    @event(Requested)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        medications: list[dict[str, str]],
        practitioner_id: str,
        health_unit: str,
    ) -> None:
        self.citizen_id = citizen_id
        self.medications = medications
        self.practitioner_id = practitioner_id
        self.health_unit = health_unit
        self.status: RenewalStatus = "pending"
        self.items: list[dict[str, Any]] = []
        self.valid_until: date | None = None
        self.reason: str | None = None
        self.prescription: tuple[uuid.UUID, str] | None = None

    def check_pending(self) -> None:
        if self.status != "pending":
            raise RenewalNotPending(f"the request is {self.status}")

    def check_addressed_to(self, practitioner_id: str) -> None:
        if practitioner_id != self.practitioner_id:
            raise NotTheAddressedDoctor("only the citizen's family doctor may decide")

    def reassign(self, practitioner_id: str, health_unit: str) -> None:
        self.check_pending()
        if (practitioner_id, health_unit) != (self.practitioner_id, self.health_unit):
            self._reassigned(
                citizen_id=self.citizen_id, practitioner_id=practitioner_id, health_unit=health_unit
            )

    class Reassigned(Aggregate.Event):
        citizen_id: uuid.UUID
        practitioner_id: str
        health_unit: str

    @event(Reassigned)
    def _reassigned(self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str) -> None:
        self.practitioner_id = practitioner_id
        self.health_unit = health_unit

    def approve(
        self,
        practitioner_id: str,
        packs: Mapping[str, int],
        valid_until: date,
        today: date,
        max_validity_days: int,
    ) -> None:
        self.check_addressed_to(practitioner_id)
        self.check_pending()
        items = self._items(packs)
        if not today < valid_until <= today + timedelta(days=max_validity_days):
            raise InvalidRenewalDecision(
                f"valid_until must be after today and within {max_validity_days} days"
            )
        self._decided(
            citizen_id=self.citizen_id,
            decision="approved",
            items=items,
            valid_until=valid_until,
            reason=None,
            practitioner_id=practitioner_id,
        )

    def _items(self, packs: Mapping[str, int]) -> list[dict[str, Any]]:
        requested = {m["medication_id"]: m for m in self.medications}
        unknown = [m for m in packs if m not in requested]
        if unknown or not packs:
            raise InvalidRenewalDecision(f"not in the request: {', '.join(unknown) or 'no items'}")
        return [{**requested[m], "packs": n} for m, n in packs.items()]

    def reject(self, practitioner_id: str, reason: str) -> None:
        self.check_addressed_to(practitioner_id)
        self.check_pending()
        self._decided(
            citizen_id=self.citizen_id,
            decision="rejected",
            items=[],
            valid_until=None,
            reason=reason,
            practitioner_id=practitioner_id,
        )

    class Decided(Aggregate.Event):
        citizen_id: uuid.UUID
        decision: Literal["approved", "rejected"]
        items: list[dict[str, Any]]
        valid_until: date | None
        reason: str | None
        practitioner_id: str

    @event(Decided)
    def _decided(
        self,
        citizen_id: uuid.UUID,
        decision: Literal["approved", "rejected"],
        items: list[dict[str, Any]],
        valid_until: date | None,
        reason: str | None,
        practitioner_id: str,
    ) -> None:
        self.status = decision
        self.items = items
        self.valid_until = valid_until
        self.reason = reason

    def record_prescription(self, prescription_id: uuid.UUID, prescription_number: str) -> None:
        if self.status != "approved":
            raise RenewalNotApproved(f"the request is {self.status}")
        self._prescribed(
            citizen_id=self.citizen_id,
            prescription_id=prescription_id,
            prescription_number=prescription_number,
        )

    class Prescribed(Aggregate.Event):
        citizen_id: uuid.UUID
        prescription_id: uuid.UUID
        prescription_number: str

    @event(Prescribed)
    def _prescribed(
        self, citizen_id: uuid.UUID, prescription_id: uuid.UUID, prescription_number: str
    ) -> None:
        self.status = "prescribed"
        self.prescription = (prescription_id, prescription_number)

    def cancel(self, reason: str) -> None:
        self.check_pending()
        self._cancelled(citizen_id=self.citizen_id, reason=reason)

    class Cancelled(Aggregate.Event):
        citizen_id: uuid.UUID
        reason: str

    @event(Cancelled)
    def _cancelled(self, citizen_id: uuid.UUID, reason: str) -> None:
        self.status = "cancelled"
        self.reason = reason
