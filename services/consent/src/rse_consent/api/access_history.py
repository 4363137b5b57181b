"""The citizen's access history: every access records reported, denials and emergencies too."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rse_consent.api.dependencies import THE_CITIZEN_OR_AUDITOR
from rse_consent.api.schemas import AccessView, Limit, Offset
from rse_consent.projections import accesses_of
from rse_shared.service import ReadModels

router = APIRouter(
    prefix="/citizens/{citizen_id}/access-history",
    tags=["access history"],
    dependencies=[THE_CITIZEN_OR_AUDITOR],
)


@router.get("", response_model=list[AccessView])
async def access_history(
    citizen_id: uuid.UUID, db: ReadModels, limit: Limit = 100, offset: Offset = 0
) -> list[AccessView]:
    """Every access to the citizen's record, denials and emergencies included, newest first."""
    entries = await accesses_of(db, str(citizen_id), limit=limit, offset=offset)
    return [AccessView.of(entry) for entry in entries]
