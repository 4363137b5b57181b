"""What records publishes: its domain events translated into integration events.

Prescription codes never appear here: PrescriptionIssued carries the number, not the codes.
Consent registers, care teams, emergency quotas taken and record closings stay inside
records (no translation); a quota exceeded and an emergency access reviewed are published.
"""

from __future__ import annotations

from rse_records.domain.emergency import EmergencyReview, QuotaRefusal
from rse_records.domain.health_record import HealthRecord
from rse_records.domain.proxy_read import ProxyRead
from rse_records.domain.record_access import RecordAccess
from rse_shared.contracts import (
    CarePlanUpdated,
    ChronicMedication,
    EmergencyAccessReviewed,
    EmergencyQuotaExceeded,
    EntryRef,
    HealthRecordOpened,
    HealthSummaryUpdated,
    IntegrationEvent,
    PrescriptionIssued,
    PrescriptionItem,
    RecordAccessed,
    RecordReadByProxy,
    VaccinationRecorded,
)
from rse_shared.published import Envelope, Publisher

to_integration_event = Publisher("records")


@to_integration_event.translates(HealthRecord.Opened)
def health_record_opened(event: HealthRecord.Opened, envelope: Envelope) -> IntegrationEvent:
    return HealthRecordOpened(**envelope, record_id=event.originator_id)


@to_integration_event.translates(HealthRecord.HealthSummaryUpdated)
def health_summary_updated(
    event: HealthRecord.HealthSummaryUpdated, envelope: Envelope
) -> IntegrationEvent:
    return HealthSummaryUpdated(
        **envelope,
        allergies=tuple(event.allergies),
        chronic_conditions=tuple(event.chronic_conditions),
        chronic_medications=tuple(ChronicMedication(**m) for m in event.chronic_medications),
        updated_by=event.updated_by,
    )


@to_integration_event.translates(HealthRecord.VaccinationRecorded)
def vaccination_recorded(
    event: HealthRecord.VaccinationRecorded, envelope: Envelope
) -> IntegrationEvent:
    return VaccinationRecorded(
        **envelope,
        vaccine=event.vaccine,
        dose_number=event.dose_number,
        administered_on=event.administered_on,
        lot=event.lot,
        health_unit=event.health_unit,
        recorded_by=event.recorded_by,
    )


@to_integration_event.translates(HealthRecord.CarePlanUpdated)
def care_plan_updated(event: HealthRecord.CarePlanUpdated, envelope: Envelope) -> IntegrationEvent:
    return CarePlanUpdated(
        **envelope,
        goals=tuple(event.goals),
        interventions=tuple(event.interventions),
        responsible_professional=event.responsible_professional,
        next_review=event.next_review,
    )


@to_integration_event.translates(HealthRecord.PrescriptionIssued)
def prescription_issued(
    event: HealthRecord.PrescriptionIssued, envelope: Envelope
) -> IntegrationEvent:
    return PrescriptionIssued(
        **envelope,
        prescription_id=event.prescription_id,
        prescription_number=event.prescription_number,
        items=tuple(PrescriptionItem(**item) for item in event.items),
        valid_until=event.valid_until,
        prescriber=event.prescriber,
        renewal_request_id=event.renewal_request_id,
    )


@to_integration_event.translates(RecordAccess.Recorded)
def record_accessed(event: RecordAccess.Recorded, envelope: Envelope) -> IntegrationEvent:
    return RecordAccessed(
        **envelope,
        access_id=event.originator_id,
        practitioner_id=event.practitioner_id,
        role=event.role,
        health_unit=event.health_unit,
        categories=tuple(event.categories),
        purpose=event.purpose,
        emergency_reason=event.emergency_reason,
        decision=event.decision,
        consent_id=event.consent_id,
        accessed_at=event.accessed_at,
        action=event.action,
        actor_id=event.actor_id or event.practitioner_id,
        entries=tuple(EntryRef(**e) for e in event.entries or ()),
        relationship=event.relationship,
    )


@to_integration_event.translates(EmergencyReview.Reviewed)
def emergency_access_reviewed(
    event: EmergencyReview.Reviewed, envelope: Envelope
) -> IntegrationEvent:
    return EmergencyAccessReviewed(
        **envelope,
        access_id=event.access_id,
        outcome=event.outcome,
        note=event.note,
        reviewed_by=event.reviewed_by,
        reviewed_at=event.reviewed_at,
    )


@to_integration_event.translates(QuotaRefusal.Exceeded)
def emergency_quota_exceeded(event: QuotaRefusal.Exceeded, envelope: Envelope) -> IntegrationEvent:
    return EmergencyQuotaExceeded(
        **envelope,
        practitioner_id=event.practitioner_id,
        day=event.day,
        quota=event.quota,
        attempted_at=event.attempted_at,
    )


@to_integration_event.translates(ProxyRead.Recorded)
def record_read_by_proxy(event: ProxyRead.Recorded, envelope: Envelope) -> IntegrationEvent:
    return RecordReadByProxy(
        **envelope, read_id=event.originator_id, part=event.part, read_at=event.read_at
    )
