"""What requests publishes: its bookings, renewals and referrals as integration events.

Patient events, slot openings, reassignments and prescriptions stay inside requests.
"""

from __future__ import annotations

from rse_requests.domain.referral import Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.slot import Slot
from rse_shared.contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    ChronicMedication,
    MedicationRenewalDecided,
    MedicationRenewalRequested,
    ReferralRegistered,
    ReferralStatusChanged,
    RenewedItem,
)
from rse_shared.published import Envelope, Publisher

to_integration_event = Publisher("requests")


@to_integration_event.translates(Slot.Booked)
def appointment_booked(event: Slot.Booked, envelope: Envelope) -> AppointmentBooked:
    return AppointmentBooked(
        **envelope,
        appointment_id=event.appointment_id,
        slot_id=event.originator_id,
        practitioner_id=event.practitioner_id,
        health_unit=event.health_unit,
        starts_at=event.starts_at,
    )


@to_integration_event.translates(Slot.Cancelled)
def appointment_cancelled(event: Slot.Cancelled, envelope: Envelope) -> AppointmentCancelled:
    return AppointmentCancelled(
        **envelope,
        appointment_id=event.appointment_id,
        slot_id=event.originator_id,
        cancelled_by=event.cancelled_by,
        reason=event.reason,
    )


@to_integration_event.translates(RenewalRequest.Requested)
def medication_renewal_requested(
    event: RenewalRequest.Requested, envelope: Envelope
) -> MedicationRenewalRequested:
    return MedicationRenewalRequested(
        **envelope,
        request_id=event.originator_id,
        medications=tuple(ChronicMedication(**m) for m in event.medications),
        practitioner_id=event.practitioner_id,
        health_unit=event.health_unit,
    )


@to_integration_event.translates(RenewalRequest.Decided)
def medication_renewal_decided(
    event: RenewalRequest.Decided, envelope: Envelope
) -> MedicationRenewalDecided:
    return MedicationRenewalDecided(
        **envelope,
        request_id=event.originator_id,
        decision=event.decision,
        items=tuple(RenewedItem(**i) for i in event.items),
        valid_until=event.valid_until,
        reason=event.reason,
        practitioner_id=event.practitioner_id,
    )


@to_integration_event.translates(Referral.Registered)
def referral_registered(event: Referral.Registered, envelope: Envelope) -> ReferralRegistered:
    return ReferralRegistered(
        **envelope,
        referral_id=event.originator_id,
        specialty=event.specialty,
        hospital=event.hospital,
        priority=event.priority,
        registered_on=event.registered_on,
        deadline=event.deadline,
        practitioner_id=event.practitioner_id,
    )


@to_integration_event.translates(Referral.StatusChanged)
def referral_status_changed(
    event: Referral.StatusChanged, envelope: Envelope
) -> ReferralStatusChanged:
    return ReferralStatusChanged(
        **envelope,
        referral_id=event.originator_id,
        status=event.status,
        scheduled_for=event.scheduled_for,
        reason=event.reason,
        changed_by=event.changed_by,
        changed_by_role=event.changed_by_role,
    )
