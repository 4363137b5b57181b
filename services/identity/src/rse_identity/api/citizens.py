"""Registration, personal data, contacts, family doctor and deregistration."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from rse_identity.api.auth import BUSY, retry_later
from rse_identity.api.dependencies import (
    App,
    CitizenOrOperator,
    Guard,
    Operator,
    OperatorRead,
    ReadModels,
)
from rse_identity.api.schemas import (
    CitizenView,
    ContactsUpdate,
    Deregistration,
    Erasure,
    FamilyDoctor,
    Registered,
    Registration,
)
from rse_identity.application import CitizenNotVisible
from rse_identity.login_guard import HashingBusy
from rse_identity.projections import find_citizen
from rse_shared.auth import CurrentPrincipal, Forbidden
from rse_shared.eventstore import in_thread

citizens = APIRouter(prefix="/citizens", tags=["citizens"])


@citizens.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    responses={503: BUSY},
)
async def register_citizen(body: Registration, app: App, guard: Guard) -> Registered | JSONResponse:
    """Register a citizen (one per SNS number and per NIF)."""
    try:
        # The password is hashed (argon2, 64 MiB) within the bound logins share.
        async with guard.gate.slot():
            citizen_id = await in_thread(app.register_citizen, **body.model_dump())
    except HashingBusy as busy:
        return retry_later(503, "Service Unavailable", str(busy), busy.retry_after)
    return Registered(citizen_id=citizen_id)


@citizens.get("/me", response_model=CitizenView)
async def my_personal_data(db: ReadModels, principal: CurrentPrincipal) -> CitizenView:
    """The calling citizen's personal data."""
    if principal.citizen_id is None:
        raise Forbidden("only citizens have personal data here")
    return await _citizen_view(db, principal.citizen_id)


@citizens.get("/{citizen_id}", response_model=CitizenView)
async def personal_data(
    citizen_id: uuid.UUID, db: ReadModels, app: App, _: CitizenOrOperator, read: OperatorRead
) -> CitizenView:
    """A citizen's personal data (the citizen themself, or an operator stating a purpose)."""
    view = await _citizen_view(db, str(citizen_id))
    if read is not None:
        # Saved before the answer: if the read cannot be recorded, no data goes out.
        await in_thread(
            app.record_personal_data_read, citizen_id, read.actor_id, "operator", read.purpose
        )
    return view


async def _citizen_view(db: ReadModels, citizen_id: str) -> CitizenView:
    document = await find_citizen(db, citizen_id)
    if document is None:
        raise CitizenNotVisible(citizen_id)
    return CitizenView.of(document)


@citizens.patch("/{citizen_id}/contacts", status_code=status.HTTP_204_NO_CONTENT)
async def update_contacts(
    citizen_id: uuid.UUID, body: ContactsUpdate, app: App, _: CitizenOrOperator
) -> None:
    """Update e-mail, phone or address."""
    await in_thread(app.update_contacts, citizen_id, **body.model_dump())


@citizens.put("/{citizen_id}/family-doctor", status_code=status.HTTP_204_NO_CONTENT)
async def assign_family_doctor(
    citizen_id: uuid.UUID, body: FamilyDoctor, app: App, _: Operator
) -> None:
    """Assign the citizen's family doctor (operators)."""
    await in_thread(app.assign_family_doctor, citizen_id, body.practitioner_id, body.health_unit)


@citizens.post("/{citizen_id}/erasure", status_code=status.HTTP_204_NO_CONTENT)
async def erase(citizen_id: uuid.UUID, body: Erasure, app: App, operator: Operator) -> None:
    """Erase a citizen: their data key is destroyed, so nothing of theirs opens anywhere
    again, while every hash chain stays valid (operators; idempotent)."""
    await in_thread(app.erase, citizen_id, body.legal_basis, body.reference, operator.subject)


@citizens.post("/{citizen_id}/deregistration", status_code=status.HTTP_204_NO_CONTENT)
async def deregister(citizen_id: uuid.UUID, body: Deregistration, app: App, _: Operator) -> None:
    """Deregister a citizen for death or emigration; their history is kept (operators)."""
    await in_thread(app.deregister, citizen_id, body.reason, body.effective_date)
