"""The citizen's access alerts: whether they want them, their inbox, marking them read."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from rse_consent.api.dependencies import THE_CITIZEN, App
from rse_consent.api.schemas import AlertSettings, AlertView, Limit, Offset
from rse_consent.projections import access_alerts_enabled, alerts_of
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

router = APIRouter(
    prefix="/citizens/{citizen_id}", tags=["access alerts"], dependencies=[THE_CITIZEN]
)


@router.get("/alert-settings", response_model=AlertSettings)
async def alert_settings(citizen_id: uuid.UUID, db: ReadModels) -> AlertSettings:
    """Whether the citizen opted in to access alerts."""
    return AlertSettings(access_alerts=await access_alerts_enabled(db, str(citizen_id)))


@router.put("/alert-settings", response_model=AlertSettings)
async def choose_alerts(body: AlertSettings, citizen_id: uuid.UUID, app: App) -> AlertSettings:
    """Opt in to (or out of) an alert for every access; emergency access is always alerted."""
    enabled = await in_thread(app.choose_access_alerts, citizen_id, body.access_alerts)
    return AlertSettings(access_alerts=enabled)


@router.get("/alerts", response_model=list[AlertView])
async def alert_inbox(
    citizen_id: uuid.UUID,
    db: ReadModels,
    unread: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AlertView]:
    """The citizen's access alerts, most recent access first (only unread ones if asked)."""
    entries = await alerts_of(db, str(citizen_id), unread_only=unread, limit=limit, offset=offset)
    return [AlertView.of(entry) for entry in entries]


@router.post("/alerts/{alert_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_alert_read(alert_id: uuid.UUID, citizen_id: uuid.UUID, app: App) -> None:
    """Mark an alert as read."""
    await in_thread(app.mark_alert_read, citizen_id, alert_id)
