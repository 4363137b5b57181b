"""Identity's domain events translated into the integration events it publishes."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from rse_identity.domain.citizen import Citizen
from rse_shared.contracts import (
    CitizenDeregistered,
    CitizenRegistered,
    FamilyDoctorAssigned,
    IntegrationEvent,
    PersonalDataUpdated,
    envelope_of,
)

PRODUCER = "identity"
TOPIC = "identity.events"


def envelope(event: Any, position: int) -> dict[str, Any]:
    return envelope_of(event, position, PRODUCER, citizen_id=event.originator_id)


@singledispatch
def to_integration_event(event: Any, position: int) -> IntegrationEvent | None:
    """Account and NIF-claim events stay inside identity."""
    return None


@to_integration_event.register
def _(event: Citizen.Registered, position: int) -> IntegrationEvent:
    return CitizenRegistered(**envelope(event, position), sns_number=event.sns_number,
                             full_name=event.full_name, date_of_birth=event.date_of_birth)


@to_integration_event.register
def _(event: Citizen.PersonalDataUpdated, position: int) -> IntegrationEvent:
    return PersonalDataUpdated(**envelope(event, position),
                               changed_fields=tuple(sorted(event.changed)))


@to_integration_event.register
def _(event: Citizen.FamilyDoctorAssigned, position: int) -> IntegrationEvent:
    return FamilyDoctorAssigned(**envelope(event, position),
                                practitioner_id=event.practitioner_id,
                                health_unit=event.health_unit)


@to_integration_event.register
def _(event: Citizen.Deregistered, position: int) -> IntegrationEvent:
    return CitizenDeregistered(**envelope(event, position), reason=event.reason,
                               effective_date=event.effective_date)
