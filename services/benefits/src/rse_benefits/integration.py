"""Benefits' domain events translated into the integration events it publishes."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from rse_benefits.domain.exemption import Exemption
from rse_shared.contracts import (
    ExemptionDecided,
    ExemptionExpired,
    ExemptionRequested,
    IntegrationEvent,
    envelope_of,
)

PRODUCER = "benefits"


def envelope(event: Any, position: int) -> dict[str, Any]:
    return envelope_of(event, position, PRODUCER)


@singledispatch
def to_integration_event(event: Any, position: int) -> IntegrationEvent | None:
    """Beneficiary events and cancellations stay inside benefits."""
    return None


@to_integration_event.register
def _(event: Exemption.Requested, position: int) -> IntegrationEvent:
    return ExemptionRequested(**envelope(event, position), exemption_id=event.originator_id,
                              category=event.category, renews=event.renews)


@to_integration_event.register
def _(event: Exemption.Decided, position: int) -> IntegrationEvent:
    return ExemptionDecided(**envelope(event, position), exemption_id=event.originator_id,
                            category=event.category, decision=event.decision, basis=event.basis,
                            valid_from=event.valid_from, valid_until=event.valid_until,
                            reason=event.reason)


@to_integration_event.register
def _(event: Exemption.Expired, position: int) -> IntegrationEvent:
    return ExemptionExpired(**envelope(event, position), exemption_id=event.originator_id,
                            category=event.category, expired_on=event.expired_on)
