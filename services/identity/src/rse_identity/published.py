"""Identity's domain events translated into the integration events it publishes.

Account, claim, activation and OIDC-login events stay inside identity; operators' reads go
to the citizen's
access history (consent).
"""

from __future__ import annotations

import uuid
from typing import Any

from rse_identity.domain.citizen import Citizen
from rse_identity.domain.personal_data_read import PersonalDataRead as Read
from rse_shared.contracts import (
    CitizenActivated,
    CitizenDeregistered,
    CitizenRegistered,
    FamilyDoctorAssigned,
    IntegrationEvent,
    PersonalDataRead,
    PersonalDataUpdated,
)
from rse_shared.published import Envelope, Publisher


def citizen_of(event: Any) -> uuid.UUID:
    """A read names its citizen; the citizen's own events have none but the aggregate's id."""
    citizen_id: uuid.UUID = (
        event.citizen_id if isinstance(event, Read.Recorded) else event.originator_id
    )
    return citizen_id


to_integration_event = Publisher("identity", citizen_of=citizen_of)


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


@to_integration_event.translates(Citizen.Activated)
def citizen_activated(event: Citizen.Activated, envelope: Envelope) -> IntegrationEvent:
    return CitizenActivated(**envelope, method=event.method)


@to_integration_event.translates(Read.Recorded)
def personal_data_read(event: Read.Recorded, envelope: Envelope) -> IntegrationEvent:
    return PersonalDataRead(
        **envelope,
        read_id=event.originator_id,
        actor_id=event.actor_id,
        role=event.role,
        purpose=event.purpose,
        read_at=event.read_at,
    )
