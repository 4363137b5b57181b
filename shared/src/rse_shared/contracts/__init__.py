"""Integration events: the only vocabulary that crosses service boundaries.

Importing this package registers every contract, so `parse_event` knows them all; the
audit records (checkpoints, keys, dead letters) are contracts too, not events.
"""

from rse_shared.contracts.audit import Checkpoint, DeadLetterEntry, VerificationKey
from rse_shared.contracts.benefits import (
    ExemptionCategory,
    ExemptionDecided,
    ExemptionExpired,
    ExemptionRequested,
)
from rse_shared.contracts.consent import (
    CATEGORIES,
    AccessAlertRaised,
    Category,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
)
from rse_shared.contracts.envelope import (
    IntegrationEvent,
    UnknownEventType,
    contract,
    contract_for,
    envelope_of,
    parse_event,
    stable_event_id,
)
from rse_shared.contracts.identity import (
    CitizenDeregistered,
    CitizenRegistered,
    FamilyDoctorAssigned,
    PersonalDataUpdated,
)
from rse_shared.contracts.records import (
    CarePlanUpdated,
    ChronicMedication,
    EmergencyAccessReviewed,
    EmergencyQuotaExceeded,
    EntryRef,
    HealthRecordOpened,
    HealthSummaryUpdated,
    PrescriptionIssued,
    PrescriptionItem,
    RecordAccessed,
    VaccinationRecorded,
)
from rse_shared.contracts.requests import (
    AppointmentBooked,
    AppointmentCancelled,
    MedicationRenewalDecided,
    MedicationRenewalRequested,
    Priority,
    ReferralRegistered,
    ReferralStatusChanged,
    RenewedItem,
)

__all__ = [
    "CATEGORIES",
    "AccessAlertRaised",
    "AppointmentBooked",
    "AppointmentCancelled",
    "CarePlanUpdated",
    "Category",
    "Checkpoint",
    "ChronicMedication",
    "CitizenDeregistered",
    "CitizenRegistered",
    "ConsentExpired",
    "ConsentGranted",
    "ConsentRevoked",
    "DeadLetterEntry",
    "EmergencyAccessReviewed",
    "EmergencyQuotaExceeded",
    "EntryRef",
    "ExemptionCategory",
    "ExemptionDecided",
    "ExemptionExpired",
    "ExemptionRequested",
    "FamilyDoctorAssigned",
    "HealthRecordOpened",
    "HealthSummaryUpdated",
    "IntegrationEvent",
    "MedicationRenewalDecided",
    "MedicationRenewalRequested",
    "PersonalDataUpdated",
    "PrescriptionIssued",
    "PrescriptionItem",
    "Priority",
    "RecordAccessed",
    "ReferralRegistered",
    "ReferralStatusChanged",
    "RenewedItem",
    "UnknownEventType",
    "VaccinationRecorded",
    "VerificationKey",
    "contract",
    "contract_for",
    "envelope_of",
    "parse_event",
    "stable_event_id",
]
