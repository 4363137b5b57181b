"""A beneficiary: what benefits knows of a citizen, and their open exemption per category."""

from __future__ import annotations

import uuid
from datetime import date

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.benefits import ExemptionCategory
from rse_shared.contracts.identity import coming_of_age
from rse_shared.eventstore import natural_id


class AlreadyOpen(Exception):
    """The citizen already has a pending or granted exemption in this category."""


class NotABeneficiary(Exception):
    """The citizen is unknown to benefits, or deregistered."""


class Beneficiary(Aggregate):
    """One per citizen, opened from identity's CitizenRegistered."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("beneficiary", str(citizen_id))

    @event("Opened")
    def __init__(
        self, citizen_id: uuid.UUID, adult_on: date | None = None, date_of_birth: date | None = None
    ) -> None:
        # Beneficiaries opened before CitizenRegistered v2 stored the date of birth instead.
        self.citizen_id = citizen_id
        self.adult_on = adult_on or coming_of_age(date_of_birth or date.min)
        self.open: dict[str, uuid.UUID] = {}
        self.deregistered = False

    def check_may_request(
        self, category: ExemptionCategory, renews: uuid.UUID | None = None
    ) -> None:
        if self.deregistered:
            raise NotABeneficiary("citizen is deregistered")
        current = self.open.get(category)
        if current is not None and current != renews:
            raise AlreadyOpen(f"an exemption for {category} is already pending or granted")

    @event("ExemptionOpened")
    def open_exemption(self, category: ExemptionCategory, exemption_id: uuid.UUID) -> None:
        self.open[category] = exemption_id

    def close_exemption(self, category: ExemptionCategory, exemption_id: uuid.UUID) -> None:
        if self.open.get(category) == exemption_id:
            self._exemption_closed(category=category)

    @event("ExemptionClosed")
    def _exemption_closed(self, category: ExemptionCategory) -> None:
        self.open.pop(category, None)

    @event("Deregistered")
    def deregister(self) -> None:
        self.deregistered = True
