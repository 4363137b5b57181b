"""Identity's domain events translated into the integration events it publishes.

Account, claim, activation and OIDC-login events stay inside identity, but for what every
service must know to refuse tokens: revocations and staff deactivations (keyed by the
account's id, the tokens' `sub`). Operators' reads go to the citizen's access history
(consent).
"""

from __future__ import annotations

import uuid
from typing import Any

from rse_identity.domain.account import Account
from rse_identity.domain.citizen import Citizen
from rse_identity.domain.personal_data_read import PersonalDataRead as Read
from rse_identity.domain.proxy import ProxyRelationship
from rse_identity.domain.token_revocation import TokenRevocation
from rse_shared.contracts import (
    CitizenActivated,
    CitizenDeregistered,
    CitizenErased,
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
    StaffDeactivated,
    StaffReactivated,
    TokenRevoked,
)
from rse_shared.contracts.identity import coming_of_age
from rse_shared.erasure import CitizenErasure
from rse_shared.published import Envelope, Publisher

RELATIONSHIP_EVENTS = (
    ProxyRelationship.Established,
    ProxyRelationship.Appointed,
    ProxyRelationship.Accepted,
    ProxyRelationship.Revoked,
    ProxyRelationship.Ended,
)


def citizen_of(event: Any) -> uuid.UUID:
    """A read names its citizen, a proxy relationship the one represented, a revocation its
    account; the others, their aggregate."""
    if isinstance(event, RELATIONSHIP_EVENTS):
        return uuid.UUID(str(event.represented_id))
    if isinstance(event, Read.Recorded):
        return uuid.UUID(str(event.citizen_id))
    if isinstance(event, CitizenErasure.Recorded):
        return uuid.UUID(str(event.erased_citizen))
    if isinstance(event, TokenRevocation.Recorded):
        return uuid.UUID(str(event.subject))
    return uuid.UUID(str(event.originator_id))


to_integration_event = Publisher("identity", citizen_of=citizen_of)


@to_integration_event.translates(Citizen.Registered)
def citizen_registered(event: Citizen.Registered, envelope: Envelope) -> IntegrationEvent:
    return CitizenRegistered(
        **envelope,
        sns_number=event.sns_number,
        full_name=event.full_name,
        adult_on=coming_of_age(event.date_of_birth),
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


@to_integration_event.translates(CitizenErasure.Recorded)
def citizen_erased(event: CitizenErasure.Recorded, envelope: Envelope) -> IntegrationEvent:
    return CitizenErased(
        **envelope,
        legal_basis=event.legal_basis,
        reference=event.reference,
        erased_by=event.erased_by,
        erased_at=event.erased_at,
    )


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


@to_integration_event.translates(TokenRevocation.Recorded)
def token_revoked(event: TokenRevocation.Recorded, envelope: Envelope) -> IntegrationEvent:
    return TokenRevoked(
        **envelope,
        subject=str(event.subject),
        jti=event.jti,
        session_id=event.session_id,
        reason=event.reason,
        revoked_at=event.revoked_at,
        expires_at=event.expires_at,
    )


@to_integration_event.translates(Account.Deactivated)
def staff_deactivated(event: Account.Deactivated, envelope: Envelope) -> IntegrationEvent:
    return StaffDeactivated(
        **envelope,
        subject=str(event.originator_id),
        role=event.role,
        deactivated_at=event.at,
        tokens_expire_by=event.tokens_expire_by,
    )


@to_integration_event.translates(Account.Reactivated)
def staff_reactivated(event: Account.Reactivated, envelope: Envelope) -> IntegrationEvent:
    return StaffReactivated(
        **envelope, subject=str(event.originator_id), role=event.role, reactivated_at=event.at
    )
