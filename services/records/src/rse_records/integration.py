"""Records' domain events translated into the integration events it publishes.

Prescription codes never appear here: PrescriptionIssued carries the number, not the codes.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from rse_records.domain.health_record import HealthRecord
from rse_records.domain.record_access import RecordAccess
from rse_shared.contracts import (
    CarePlanUpdated,
    ChronicMedication,
    HealthRecordOpened,
    HealthSummaryUpdated,
    IntegrationEvent,
    PrescriptionIssued,
    PrescriptionItem,
    RecordAccessed,
    VaccinationRecorded,
    envelope_of,
)

PRODUCER = "records"
TOPIC = "records.events"


def envelope(event: Any, position: int) -> dict[str, Any]:
    return envelope_of(event, position, PRODUCER)


@singledispatch
def to_integration_event(event: Any, position: int) -> IntegrationEvent | None:
    """Consent registers, inboxes and record closings stay inside records."""
    return None


@to_integration_event.register
def _(event: HealthRecord.Opened, position: int) -> IntegrationEvent:
    return HealthRecordOpened(**envelope(event, position), record_id=event.originator_id)


@to_integration_event.register
def _(event: HealthRecord.HealthSummaryUpdated, position: int) -> IntegrationEvent:
    return HealthSummaryUpdated(
        **envelope(event, position), allergies=tuple(event.allergies),
        chronic_conditions=tuple(event.chronic_conditions),
        chronic_medications=tuple(ChronicMedication(**m) for m in event.chronic_medications),
        updated_by=event.updated_by)


@to_integration_event.register
def _(event: HealthRecord.VaccinationRecorded, position: int) -> IntegrationEvent:
    return VaccinationRecorded(
        **envelope(event, position), vaccine=event.vaccine, dose_number=event.dose_number,
        administered_on=event.administered_on, lot=event.lot, health_unit=event.health_unit,
        recorded_by=event.recorded_by)


@to_integration_event.register
def _(event: HealthRecord.CarePlanUpdated, position: int) -> IntegrationEvent:
    return CarePlanUpdated(
        **envelope(event, position), goals=tuple(event.goals),
        interventions=tuple(event.interventions),
        responsible_professional=event.responsible_professional, next_review=event.next_review)


@to_integration_event.register
def _(event: HealthRecord.PrescriptionIssued, position: int) -> IntegrationEvent:
    return PrescriptionIssued(
        **envelope(event, position), prescription_id=event.prescription_id,
        prescription_number=event.prescription_number,
        items=tuple(PrescriptionItem(**item) for item in event.items),
        valid_until=event.valid_until, prescriber=event.prescriber,
        renewal_request_id=event.renewal_request_id)


@to_integration_event.register
def _(event: RecordAccess.Recorded, position: int) -> IntegrationEvent:
    return RecordAccessed(
        **envelope(event, position), access_id=event.originator_id,
        practitioner_id=event.practitioner_id, role="professional",
        health_unit=event.health_unit, categories=tuple(event.categories),
        purpose=event.purpose, emergency_reason=event.emergency_reason,
        decision=event.decision, consent_id=event.consent_id, accessed_at=event.accessed_at)
