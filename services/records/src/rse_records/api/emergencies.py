"""The auditors' review of emergency (break-the-glass) accesses."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from rse_records.api.dependencies import App, Auditor, Limit
from rse_records.api.schemas import EmergencyView, QuotaAlertView, ReviewBody
from rse_records.emergency_queue import Status, emergencies, quota_alerts
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

emergency_accesses = APIRouter(prefix="/emergency-accesses", tags=["emergency review"])


@emergency_accesses.get("", response_model=list[EmergencyView])
async def queue(
    db: ReadModels,
    _: Auditor,
    status: Annotated[Status, Query()] = "unreviewed",
    limit: Limit = 100,
) -> list[EmergencyView]:
    """Emergency accesses, oldest first: by default those no auditor has reviewed yet."""
    return [EmergencyView.of(e) for e in await emergencies(db, status, limit)]


@emergency_accesses.get("/quota-alerts", response_model=list[QuotaAlertView])
async def alerts(db: ReadModels, _: Auditor, limit: Limit = 100) -> list[QuotaAlertView]:
    """Emergency accesses refused beyond a professional's daily quota, newest first."""
    return [QuotaAlertView.of(a) for a in await quota_alerts(db, limit)]


@emergency_accesses.post(
    "/{access_id}/review",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {}, 409: {"description": "reviewed before"}},
)
async def review(access_id: uuid.UUID, body: ReviewBody, app: App, auditor: Auditor) -> None:
    """Record an auditor's judgement (justified or not, with a note); the citizen sees it."""
    await in_thread(app.review_emergency, access_id, body.outcome, body.note, auditor.subject)
