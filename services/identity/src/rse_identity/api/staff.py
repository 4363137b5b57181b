"""Staff accounts: professionals, hospital staff, benefits officers, auditors and operators."""

from __future__ import annotations

from fastapi import APIRouter, status

from rse_identity.api.dependencies import App, Operator, Revoked
from rse_identity.api.schemas import Provisioned, StaffProvisioning
from rse_identity.domain.citizen import InvalidCitizenData
from rse_shared.auth import Role
from rse_shared.eventstore import in_thread
from rse_shared.revocation import Revocation

staff = APIRouter(prefix="/staff", tags=["staff"])


@staff.post("", status_code=status.HTTP_201_CREATED, response_model=Provisioned)
async def provision_staff(body: StaffProvisioning, app: App, _: Operator) -> Provisioned:
    """Create a professional, hospital staff, benefits officer, auditor or operator account."""
    if body.role == "professional" and not (body.practitioner_id and body.health_unit):
        raise InvalidCitizenData("a professional needs a practitioner id and a health unit")
    if (body.role == "hospital_staff") != (body.hospital is not None):
        raise InvalidCitizenData("hospital staff, and only they, name the hospital they work for")
    role: Role = body.role
    account_id = await in_thread(
        app.provision_staff,
        username=body.username,
        password=body.password,
        role=role,
        practitioner_id=body.practitioner_id,
        health_unit=body.health_unit,
        hospital=body.hospital,
    )
    return Provisioned(account_id=account_id)


@staff.post("/{username}/deactivation", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_staff(username: str, app: App, revocations: Revoked, _: Operator) -> None:
    """Deactivate a staff account: no more logins, and its live tokens stop working."""
    account = await in_thread(app.deactivate_staff, username)
    at = account.deactivated_at
    if at is not None:  # refused here at once; the other services hear of it on Kafka
        until = at + app.token_ttl
        entry = Revocation("sub", str(account.id), at.timestamp(), until.timestamp())
        await in_thread(revocations.add, [entry])


@staff.post("/{username}/reactivation", status_code=status.HTTP_204_NO_CONTENT)
async def reactivate_staff(username: str, app: App, _: Operator) -> None:
    """Reactivate a staff account: it may log in again (its old tokens stay void)."""
    await in_thread(app.reactivate_staff, username)
