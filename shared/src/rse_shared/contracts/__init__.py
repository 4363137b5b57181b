"""Integration events: the only vocabulary that crosses service boundaries.

Importing this package registers every contract, so `parse_event` knows them all.
"""

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
    HealthRecordOpened,
    HealthSummaryUpdated,
    PrescriptionIssued,
    PrescriptionItem,
    RecordAccessed,
    VaccinationRecorded,
)

__all__ = [
    "CATEGORIES",
    "AccessAlertRaised",
    "CarePlanUpdated",
    "Category",
    "ChronicMedication",
    "CitizenDeregistered",
    "CitizenRegistered",
    "ConsentExpired",
    "ConsentGranted",
    "ConsentRevoked",
    "ExemptionCategory",
    "ExemptionDecided",
    "ExemptionExpired",
    "ExemptionRequested",
    "FamilyDoctorAssigned",
    "HealthRecordOpened",
    "HealthSummaryUpdated",
    "IntegrationEvent",
    "PersonalDataUpdated",
    "PrescriptionIssued",
    "PrescriptionItem",
    "RecordAccessed",
    "UnknownEventType",
    "VaccinationRecorded",
    "contract",
    "contract_for",
    "parse_event",
    "stable_event_id",
]
