"""Identity's domain events translated into the integration events it publishes.

Account and NIF-claim events stay inside identity, but for what every service must know
to refuse tokens: revocations and staff deactivations (keyed by the account's id, the
tokens' `sub`). Operators' reads go to the citizen's access history (consent).
"""

from __future__ import annotations

import uuid
from typing import Any

from rse_identity.domain.account import Account
from rse_identity.domain.citizen import Citizen
from rse_identity.domain.personal_data_read import PersonalDataRead as Read
from rse_identity.domain.token_revocation import TokenRevocation
from rse_shared.contracts import (
    CitizenDeregistered,
    CitizenRegistered,
    FamilyDoctorAssigned,
    IntegrationEvent,
    PersonalDataRead,
    PersonalDataUpdated,
    StaffDeactivated,
    StaffReactivated,
    TokenRevoked,
)
from rse_shared.published import Envelope, Publisher


def citizen_of(event: Any) -> uuid.UUID:
    """A read names its citizen, a revocation its account; the others, their aggregate."""
    if isinstance(event, Read.Recorded):
        return uuid.UUID(str(event.citizen_id))
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
