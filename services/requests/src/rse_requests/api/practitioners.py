"""A professional's own agenda, the renewals addressed to them and the referrals they made."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from rse_requests import projections as q
from rse_requests.api.dependencies import App, Fee, OwnPractitioner
from rse_requests.api.schemas import (
    AgendaSlot,
    Approval,
    Cancellation,
    ReferralView,
    RenewalDecision,
    RenewalView,
    SlotOpening,
)
from rse_requests.domain.renewal import RenewalStatus
from rse_shared.auth import Forbidden
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

practitioners = APIRouter(prefix="/practitioners/{practitioner_id}", tags=["professionals"])


@practitioners.post("/slots", status_code=status.HTTP_201_CREATED, response_model=AgendaSlot)
async def open_slot(
    practitioner_id: str, body: SlotOpening, caller: OwnPractitioner, app: App
) -> AgendaSlot:
    """Open a slot in the caller's agenda (409 if it is already open)."""
    if not caller.health_unit:
        raise Forbidden("the professional's token names no health unit")
    slot = await in_thread(
        app.open_slot, practitioner_id, caller.health_unit, body.starts_at, body.duration_minutes
    )
    return AgendaSlot.of_free(slot)


@practitioners.get("/agenda", response_model=list[AgendaSlot])
async def agenda(
    practitioner_id: str,
    _: OwnPractitioner,
    app: App,
    db: ReadModels,
    amount: Fee,
    start: Annotated[date | None, Query(alias="from")] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
) -> list[AgendaSlot]:
    """The caller's slots from a day (default today) for some days, with their bookings."""
    first = start or app.today()
    begin = datetime.combine(first, datetime.min.time(), tzinfo=app.clock().tzinfo)
    docs = await q.agenda_of(db, practitioner_id, begin, begin + timedelta(days=days))
    booked = [d.booking.citizen_id for d in docs if d.booking]
    exempt = await q.exempt_citizens(db, booked, app.today())
    return [AgendaSlot.of_document(d, amount, exempt) for d in docs]


@practitioners.post("/slots/{slot_id}/cancellation", response_model=AgendaSlot)
async def cancel_booking(
    practitioner_id: str, slot_id: uuid.UUID, body: Cancellation, _: OwnPractitioner, app: App
) -> AgendaSlot:
    """Cancel the appointment booked in one of the caller's slots; the slot is free again."""
    slot = await in_thread(app.cancel_booking, practitioner_id, slot_id, body.reason)
    return AgendaSlot.of_free(slot)


@practitioners.get("/renewals", response_model=list[RenewalView])
async def addressed_renewals(
    practitioner_id: str,
    _: OwnPractitioner,
    db: ReadModels,
    state: Annotated[RenewalStatus, Query(alias="status")] = "pending",
) -> list[RenewalView]:
    """Renewal requests addressed to the caller (pending ones by default, oldest first)."""
    return [RenewalView.of_document(d) for d in await q.renewals_for(db, practitioner_id, state)]


@practitioners.post("/renewals/{request_id}/decision", response_model=RenewalView)
async def decide_renewal(
    practitioner_id: str, request_id: uuid.UUID, body: RenewalDecision, _: OwnPractitioner, app: App
) -> RenewalView:
    """Approve (packs per item, validity) or reject (reason) a request addressed to the caller."""
    if isinstance(body, Approval):
        renewal = await in_thread(
            app.approve_renewal,
            practitioner_id,
            request_id,
            {i.medication_id: i.packs for i in body.items},
            body.valid_until,
        )
    else:
        renewal = await in_thread(app.reject_renewal, practitioner_id, request_id, body.reason)
    return RenewalView.of_request(renewal)


@practitioners.get("/referrals", response_model=list[ReferralView])
async def registered_referrals(
    practitioner_id: str, _: OwnPractitioner, app: App, db: ReadModels
) -> list[ReferralView]:
    """Referrals the caller registered, soonest deadline first."""
    today = app.today()
    return [ReferralView.of_document(d, today) for d in await q.referrals_by(db, practitioner_id)]
