"""Benefits' use cases: exemption requests, rule and officer decisions, lapses."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any, Literal

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from rse_benefits.domain.beneficiary import Beneficiary, NotABeneficiary
from rse_benefits.domain.exemption import Exemption, ExemptionNotGranted
from rse_benefits.domain.rules import RuleContext, decide_by_rule
from rse_shared.clock import Clock, today, utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import CitizenDeregistered, CitizenRegistered, ExemptionCategory


class ExemptionNotFound(LookupError):
    """No such exemption (or not the caller's)."""


class BenefitsApplication(ConsumerApplication):
    """Exemptions from user fees, decided by rules where the data allows, else by officers."""

    name = "benefits"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        ias: Decimal = Decimal("522.50"),
        validity_days: int = 365,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(env)
        self.ias = ias
        self.validity_days = validity_days
        self.clock = clock

    def request_exemption(
        self,
        citizen_id: uuid.UUID,
        category: ExemptionCategory,
        evidence: list[dict[str, Any]],
        income_per_person: Decimal | None = None,
        renews: uuid.UUID | None = None,
    ) -> Exemption:
        """Record the request and decide it at once where a rule can."""
        beneficiary = self._beneficiary(citizen_id)
        beneficiary.check_may_request(category, renews)
        if renews is not None:
            self._check_renewable(citizen_id, category, renews)
        requested_on = today(self.clock)
        exemption = Exemption(
            citizen_id, category, evidence, income_per_person, requested_on, renews
        )
        outcome = decide_by_rule(
            category,
            RuleContext(
                adult_on=beneficiary.adult_on,
                today=requested_on,
                ias=self.ias,
                validity_days=self.validity_days,
                income_per_person=income_per_person,
            ),
        )
        if outcome is not None:
            exemption.decide(
                outcome.decision, "rule", outcome.valid_from, outcome.valid_until, outcome.reason
            )
        if exemption.status in ("pending", "granted"):
            beneficiary.open_exemption(category, exemption.id)
        self.save(beneficiary, exemption)
        return exemption

    def decide_exemption(
        self,
        exemption_id: uuid.UUID,
        decision: Literal["granted", "denied"],
        valid_until: date | None,
        reason: str,
        officer: str,
    ) -> Exemption:
        """A benefits officer's decision on a pending request."""
        exemption = self.exemption(exemption_id)
        decided_on = today(self.clock)
        exemption.decide(
            decision,
            "officer",
            decided_on if decision == "granted" else None,
            valid_until if decision == "granted" else None,
            reason,
            officer,
        )
        beneficiary = self._beneficiary(exemption.citizen_id)
        if decision == "denied":
            beneficiary.close_exemption(exemption.category, exemption.id)
        self.save(exemption, beneficiary)
        return exemption

    def expire_if_due(self, exemption_id: uuid.UUID) -> bool:
        """Lapse a granted exemption whose validity ended; False if it is not due."""
        exemption = self.exemption(exemption_id)
        try:
            exemption.expire(today(self.clock))
        except ExemptionNotGranted:
            return False
        beneficiary = self._beneficiary(exemption.citizen_id)
        beneficiary.close_exemption(exemption.category, exemption.id)
        self.save(exemption, beneficiary)
        return True

    def exemption(self, exemption_id: uuid.UUID) -> Exemption:
        """The exemption, or ExemptionNotFound."""
        try:
            exemption: object = self.repository.get(exemption_id)
        except AggregateNotFoundError:
            exemption = None
        if not isinstance(exemption, Exemption):  # an id of another kind is not an exemption
            raise ExemptionNotFound(f"exemption {exemption_id} not found")
        return exemption

    def _check_renewable(
        self, citizen_id: uuid.UUID, category: ExemptionCategory, renews: uuid.UUID
    ) -> None:
        previous = self.exemption(renews)
        if previous.citizen_id != citizen_id or previous.category != category:
            raise ExemptionNotFound(f"exemption {renews} not found")
        if previous.status not in ("granted", "expired"):
            raise ExemptionNotGranted("only a granted or expired exemption can be renewed")

    def _beneficiary(self, citizen_id: uuid.UUID) -> Beneficiary:
        try:
            beneficiary: Beneficiary = self.repository.get(Beneficiary.create_id(citizen_id))
        except AggregateNotFoundError:
            raise NotABeneficiary("citizen not known to benefits (yet)") from None
        return beneficiary

    @singledispatchmethod
    def handle(self, event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events change nothing here."""

    @handle.register(CitizenRegistered)
    def when_citizen_registered_open_beneficiary(
        self,
        event: CitizenRegistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        try:
            self.repository.get(Beneficiary.create_id(event.citizen_id))
        except AggregateNotFoundError:
            processing_event.collect_events(Beneficiary(event.citizen_id, event.adult_on))

    @handle.register(CitizenDeregistered)
    def when_citizen_deregistered_cancel_pending_exemptions(
        self,
        event: CitizenDeregistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        try:
            beneficiary = self._beneficiary(event.citizen_id)
        except NotABeneficiary:
            return
        beneficiary.deregister()
        for exemption_id in list(beneficiary.open.values()):
            exemption = self.exemption(exemption_id)
            if exemption.status == "pending":
                exemption.cancel("citizen deregistered")
                beneficiary.close_exemption(exemption.category, exemption.id)
                processing_event.collect_events(exemption)
        processing_event.collect_events(beneficiary)
