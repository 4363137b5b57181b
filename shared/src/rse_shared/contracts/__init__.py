"""Integration events: the only vocabulary that crosses service boundaries."""

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

__all__ = [
    "CitizenDeregistered",
    "CitizenRegistered",
    "FamilyDoctorAssigned",
    "IntegrationEvent",
    "PersonalDataUpdated",
    "UnknownEventType",
    "contract",
    "contract_for",
    "parse_event",
    "stable_event_id",
]
