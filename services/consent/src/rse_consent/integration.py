"""Consent's domain events translated into the integration events it publishes."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from rse_consent.domain.alert import AccessAlert
from rse_consent.domain.consent import Consent
from rse_shared.contracts import (
    AccessAlertRaised,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    IntegrationEvent,
    envelope_of,
)

PRODUCER = "consent"
TOPIC = "consent.events"


def envelope(event: Any, position: int) -> dict[str, Any]:
    return envelope_of(event, position, PRODUCER)


@singledispatch
def to_integration_event(event: Any, position: int) -> IntegrationEvent | None:
    """Recorded accesses (records published them), preferences, reads and inboxes stay here."""
    return None


@to_integration_event.register
def _(event: Consent.Granted, position: int) -> IntegrationEvent:
    return ConsentGranted(**envelope(event, position), consent_id=event.originator_id,
                          grantee_kind=event.grantee_kind, grantee_id=event.grantee_id,
                          categories=tuple(event.categories), purpose=event.purpose,
                          valid_from=event.valid_from, valid_until=event.valid_until)


@to_integration_event.register
def _(event: Consent.Revoked, position: int) -> IntegrationEvent:
    return ConsentRevoked(**envelope(event, position), consent_id=event.originator_id,
                          revoked_at=event.revoked_at)


@to_integration_event.register
def _(event: Consent.Expired, position: int) -> IntegrationEvent:
    return ConsentExpired(**envelope(event, position), consent_id=event.originator_id,
                          expired_at=event.expired_at)


@to_integration_event.register
def _(event: AccessAlert.Raised, position: int) -> IntegrationEvent:
    return AccessAlertRaised(**envelope(event, position), correlation_id=event.correlation_id,
                             causation_id=event.causation_id, alert_id=event.originator_id,
                             access_id=event.access_id, practitioner_id=event.practitioner_id,
                             health_unit=event.health_unit, categories=tuple(event.categories),
                             decision=event.decision, accessed_at=event.accessed_at)
