"""The citizen's access history: every access records reported, denials and emergencies too,
and every read of their data by staff (operators, auditors), with its purpose."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rse_consent.api.dependencies import THE_CITIZEN_OR_AUDITOR, App, AuditorRead, recorded
from rse_consent.api.schemas import AccessView, Limit, Offset
from rse_consent.projections import accesses_of
from rse_consent.proxy_actions import proxy_actions_of
from rse_shared.service import ReadModels

router = APIRouter(
    prefix="/citizens/{citizen_id}/access-history",
    tags=["access history"],
    dependencies=[THE_CITIZEN_OR_AUDITOR],
)


@router.get("", response_model=list[AccessView])
async def access_history(
    citizen_id: uuid.UUID,
    app: App,
    db: ReadModels,
    read: AuditorRead,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AccessView]:
    """Every access to the citizen's record, denials and emergencies included, and what
    anyone acting for the citizen did ("by X on behalf of Y"), newest first."""
    entries = await accesses_of(db, str(citizen_id), limit=limit + offset, offset=0)
    actions = await proxy_actions_of(db, str(citizen_id), limit=limit + offset)
    views = [AccessView.of(e) for e in entries] + [AccessView.of_proxy_action(a) for a in actions]
    views.sort(key=lambda view: view.accessed_at, reverse=True)
    page = views[offset : offset + limit]
    seen = [(str(v.access_id), "access") for v in page if v.on_behalf is None]
    await recorded(app, citizen_id, read, "access_history", seen)
    return page
