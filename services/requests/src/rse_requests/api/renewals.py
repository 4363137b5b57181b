"""A citizen's chronic medication renewal requests."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from rse_requests import projections as q
from rse_requests.api.dependencies import App, OwnCitizen
from rse_requests.api.schemas import RenewalAsk, RenewalView
from rse_requests.application import RenewalNotFound
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

renewals = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])


@renewals.post("/renewals", status_code=status.HTTP_201_CREATED, response_model=RenewalView)
async def request_renewal(
    citizen_id: uuid.UUID, body: RenewalAsk, _: OwnCitizen, app: App
) -> RenewalView:
    """Ask the family doctor to renew chronic medications from the health summary."""
    renewal = await in_thread(app.request_renewal, citizen_id, body.medication_ids)
    return RenewalView.of_request(renewal)


@renewals.get("/renewals", response_model=list[RenewalView])
async def citizen_renewals(
    citizen_id: uuid.UUID, _: OwnCitizen, db: ReadModels
) -> list[RenewalView]:
    """The citizen's renewal requests, newest first, with their status."""
    return [RenewalView.of_document(d) for d in await q.renewals_of(db, str(citizen_id))]


@renewals.get("/renewals/{request_id}", response_model=RenewalView)
async def renewal(
    citizen_id: uuid.UUID, request_id: uuid.UUID, _: OwnCitizen, db: ReadModels
) -> RenewalView:
    """One renewal request, followed up to its prescription."""
    doc = await q.renewal_of(db, str(citizen_id), str(request_id))
    if doc is None:
        raise RenewalNotFound(f"renewal request {request_id} not found")
    return RenewalView.of_document(doc)
