"""Identity's domain events translated into the integration events it publishes.

Account and NIF-claim events stay inside identity.
"""

from __future__ import annotations

from rse_identity.domain.citizen import Citizen
from rse_shared.contracts import (
    CitizenDeregistered,
    CitizenRegistered,
    FamilyDoctorAssigned,
    IntegrationEvent,
    PersonalDataUpdated,
)
from rse_shared.published import Envelope, Publisher

# identity's citizen is the aggregate itself: its events carry no citizen_id of their own.
to_integration_event = Publisher("identity", citizen_of=lambda event: event.originator_id)


@to_integration_event.translates(Citizen.Registered)
def citizen_registered(event: Citizen.Registered, envelope: Envelope) -> IntegrationEvent:
    return CitizenRegistered(
        **envelope,
        sns_number=event.sns_number,
        full_name=event.full_name,
        date_of_birth=event.date_of_birth,
    )


@to_integration_event.translates(Citizen.PersonalDataUpdated)
def personal_data_updated(
    event: Citizen.PersonalDataUpdated, envelope: Envelope
) -> IntegrationEvent:
    return PersonalDataUpdated(**envelope, changed_fields=tuple(sorted(event.changed)))


@to_integration_event.translates(Citizen.FamilyDoctorAssigned)
def family_doctor_assigned(
    event: Citizen.FamilyDoctorAssigned, envelope: Envelope
) -> IntegrationEvent:
    return FamilyDoctorAssigned(
        **envelope, practitioner_id=event.practitioner_id, health_unit=event.health_unit
    )


@to_integration_event.translates(Citizen.Deregistered)
def citizen_deregistered(event: Citizen.Deregistered, envelope: Envelope) -> IntegrationEvent:
    return CitizenDeregistered(**envelope, reason=event.reason, effective_date=event.effective_date)
