"""Requests' domain events translated into the integration events it publishes."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from rse_requests.domain.referral import Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.slot import Slot
from rse_shared.contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    ChronicMedication,
    IntegrationEvent,
    MedicationRenewalDecided,
    MedicationRenewalRequested,
    ReferralRegistered,
    ReferralStatusChanged,
    RenewedItem,
    envelope_of,
)

PRODUCER = "requests"


def envelope(event: Any, position: int) -> dict[str, Any]:
    return envelope_of(event, position, PRODUCER)


@singledispatch
def to_integration_event(event: Any, position: int) -> IntegrationEvent | None:
    """Patient events, slot openings, reassignments and prescriptions stay inside requests."""
    return None


@to_integration_event.register
def _(event: Slot.Booked, position: int) -> IntegrationEvent:
    return AppointmentBooked(**envelope(event, position), appointment_id=event.appointment_id,
                             slot_id=event.originator_id, practitioner_id=event.practitioner_id,
                             health_unit=event.health_unit, starts_at=event.starts_at)


@to_integration_event.register
def _(event: Slot.Cancelled, position: int) -> IntegrationEvent:
    return AppointmentCancelled(**envelope(event, position),
                                appointment_id=event.appointment_id,
                                slot_id=event.originator_id, cancelled_by=event.cancelled_by,
                                reason=event.reason)


@to_integration_event.register
def _(event: RenewalRequest.Requested, position: int) -> IntegrationEvent:
    return MedicationRenewalRequested(
        **envelope(event, position), request_id=event.originator_id,
        medications=tuple(ChronicMedication(**m) for m in event.medications),
        practitioner_id=event.practitioner_id, health_unit=event.health_unit)


@to_integration_event.register
def _(event: RenewalRequest.Decided, position: int) -> IntegrationEvent:
    return MedicationRenewalDecided(
        **envelope(event, position), request_id=event.originator_id, decision=event.decision,
        items=tuple(RenewedItem(**i) for i in event.items), valid_until=event.valid_until,
        reason=event.reason, practitioner_id=event.practitioner_id)


@to_integration_event.register
def _(event: Referral.Registered, position: int) -> IntegrationEvent:
    return ReferralRegistered(
        **envelope(event, position), referral_id=event.originator_id, specialty=event.specialty,
        hospital=event.hospital, priority=event.priority, registered_on=event.registered_on,
        deadline=event.deadline, practitioner_id=event.practitioner_id)


@to_integration_event.register
def _(event: Referral.StatusChanged, position: int) -> IntegrationEvent:
    return ReferralStatusChanged(**envelope(event, position), referral_id=event.originator_id,
                                 status=event.status, scheduled_for=event.scheduled_for,
                                 reason=event.reason)
