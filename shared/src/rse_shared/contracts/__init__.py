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
    ContactsSealed,
    FamilyDoctorAssigned,
    PersonalDataRead,
    PersonalDataUpdated,
    StaffDeactivated,
    StaffReactivated,
    TokenRevoked,
)
from rse_shared.contracts.notifications import NotificationDelivered, NotificationFailed
from rse_shared.contracts.records import (
    CarePlanUpdated,
    ChronicMedication,
    EmergencyAccessReviewed,
    EmergencyQuotaExceeded,
    EntryRef,
    HealthRecordOpened,
    HealthSummaryUpdated,
    PrescriptionCodesSealed,
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
from rse_shared.contracts.sealed import SealedEvent

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
    "ContactsSealed",
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
    "NotificationDelivered",
    "NotificationFailed",
    "PersonalDataRead",
    "PersonalDataUpdated",
    "PrescriptionCodesSealed",
    "PrescriptionIssued",
    "PrescriptionItem",
    "Priority",
    "RecordAccessed",
    "ReferralRegistered",
    "ReferralStatusChanged",
    "RenewedItem",
    "SealedEvent",
    "StaffDeactivated",
    "StaffReactivated",
    "TokenRevoked",
    "UnknownEventType",
    "VaccinationRecorded",
    "VerificationKey",
    "contract",
    "contract_for",
    "envelope_of",
    "parse_event",
    "stable_event_id",
]
