"""Benefits' domain events translated into the integration events it publishes.

Beneficiary events and cancellations stay inside benefits.
"""

from __future__ import annotations

from rse_benefits.domain.exemption import Exemption
from rse_shared.contracts import (
    ExemptionDecided,
    ExemptionExpired,
    ExemptionRequested,
    IntegrationEvent,
)
from rse_shared.published import Envelope, Publisher

to_integration_event = Publisher("benefits")


@to_integration_event.translates(Exemption.Requested)
def exemption_requested(event: Exemption.Requested, envelope: Envelope) -> IntegrationEvent:
    return ExemptionRequested(
        **envelope, exemption_id=event.originator_id, category=event.category, renews=event.renews
    )


@to_integration_event.translates(Exemption.Decided)
def exemption_decided(event: Exemption.Decided, envelope: Envelope) -> IntegrationEvent:
    return ExemptionDecided(
        **envelope,
        exemption_id=event.originator_id,
        category=event.category,
        decision=event.decision,
        basis=event.basis,
        valid_from=event.valid_from,
        valid_until=event.valid_until,
        reason=event.reason,
    )


@to_integration_event.translates(Exemption.Expired)
def exemption_expired(event: Exemption.Expired, envelope: Envelope) -> IntegrationEvent:
    return ExemptionExpired(
        **envelope,
        exemption_id=event.originator_id,
        category=event.category,
        expired_on=event.expired_on,
    )
