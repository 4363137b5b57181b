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
from rse_identity.domain.proxy import ProxyRelationship
from rse_shared.contracts import (
    CitizenActivated,
    CitizenDeregistered,
    CitizenRegistered,
    FamilyDoctorAssigned,
    IntegrationEvent,
    PersonalDataRead,
    PersonalDataUpdated,
    ProxyAccepted,
    ProxyAppointed,
    ProxyEnded,
    ProxyEstablished,
    ProxyRevoked,
)
from rse_shared.published import Envelope, Publisher

RELATIONSHIP_EVENTS = (
    ProxyRelationship.Established,
    ProxyRelationship.Appointed,
    ProxyRelationship.Accepted,
    ProxyRelationship.Revoked,
    ProxyRelationship.Ended,
)


def citizen_of(event: Any) -> uuid.UUID:
    """A read names its citizen, a proxy relationship the one represented; the citizen's own
    events have none but the aggregate's id."""
    if isinstance(event, RELATIONSHIP_EVENTS):
        represented: uuid.UUID = event.represented_id
        return represented
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


@to_integration_event.translates(ProxyRelationship.Established)
def proxy_established(event: ProxyRelationship.Established, envelope: Envelope) -> IntegrationEvent:
    return ProxyEstablished(
        **envelope,
        relationship_id=event.originator_id,
        kind=event.kind,
        proxy_id=event.proxy_id,
        scopes=tuple(event.scopes),
        valid_from=event.valid_from,
        valid_until=event.valid_until,
        established_by=event.by,
        documents=event.documents,
    )


@to_integration_event.translates(ProxyRelationship.Appointed)
def proxy_appointed(event: ProxyRelationship.Appointed, envelope: Envelope) -> IntegrationEvent:
    return ProxyAppointed(
        **envelope,
        relationship_id=event.originator_id,
        kind=event.kind,
        proxy_id=event.proxy_id,
        scopes=tuple(event.scopes),
        valid_from=event.valid_from,
        valid_until=event.valid_until,
        appointed_by=event.by,
        rentev_reference=event.rentev_reference,
    )


@to_integration_event.translates(ProxyRelationship.Accepted)
def proxy_accepted(event: ProxyRelationship.Accepted, envelope: Envelope) -> IntegrationEvent:
    return ProxyAccepted(**envelope, relationship_id=event.originator_id, proxy_id=event.proxy_id)


@to_integration_event.translates(ProxyRelationship.Revoked)
def proxy_revoked(event: ProxyRelationship.Revoked, envelope: Envelope) -> IntegrationEvent:
    return ProxyRevoked(
        **envelope,
        relationship_id=event.originator_id,
        proxy_id=event.proxy_id,
        revoked_by=event.by,
        revoked_at=event.at,
    )


@to_integration_event.translates(ProxyRelationship.Ended)
def proxy_ended(event: ProxyRelationship.Ended, envelope: Envelope) -> IntegrationEvent:
    return ProxyEnded(
        **envelope,
        relationship_id=event.originator_id,
        proxy_id=event.proxy_id,
        reason=event.reason,
        ended_at=event.at,
    )
