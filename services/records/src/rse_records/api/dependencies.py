"""Who may reach a record through the API: the dependencies every records router uses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from pymongo.asynchronous.database import AsyncDatabase

from rse_records.api.schemas import ReadReason
from rse_records.application import Reader, RecordsApplication
from rse_records.projections import NotVisible, find_record
from rse_records.read_models import RecordDocument
from rse_shared.api import check_citizen_or, citizen_or, get_app
from rse_shared.auth import Forbidden, Principal, require_roles
from rse_shared.contracts import Category
from rse_shared.eventstore import in_thread

# The same answer whether or not the record exists, so a refusal reveals nothing.
NO_CONSENT = "no consent of the citizen covers this read"
OWN_RECORD = "a citizen may only see their own record"

ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=500)]

App = Annotated[RecordsApplication, Depends(get_app)]
Professional = Annotated[Principal, Depends(require_roles("professional"))]
CitizenOrProfessional = Annotated[Principal, Depends(require_roles("citizen", "professional"))]
TheCitizen = Annotated[Principal, Depends(citizen_or(detail=OWN_RECORD))]
TheCitizenOrAuditor = Annotated[Principal, Depends(citizen_or("auditor", detail=OWN_RECORD))]
Reason = Annotated[ReadReason, Query()]


def reader_of(principal: Principal) -> Reader:
    """The professional the access token names (403 if it names no practitioner)."""
    if not principal.practitioner_id:
        raise Forbidden("the access token names no practitioner")
    return Reader(principal.practitioner_id, principal.health_unit)


async def authorise(
    app: RecordsApplication,
    principal: Principal,
    citizen_id: uuid.UUID,
    category: Category,
    reason: ReadReason,
) -> None:
    """The citizen reads their own record; a professional as the access decision says."""
    if principal.role == "citizen":
        check_citizen_or(principal, citizen_id, detail=OWN_RECORD)
        return
    decision = await in_thread(
        app.authorise_read,
        citizen_id,
        reader_of(principal),
        [category],
        reason.purpose,
        reason.emergency_reason,
    )
    if not decision.allowed:
        raise Forbidden(NO_CONSENT)


async def visible_record(db: AsyncDatabase[Any], citizen_id: uuid.UUID) -> RecordDocument:
    """The citizen's record as projected (404 if not, or not yet, there)."""
    record = await find_record(db, str(citizen_id))
    if record is None:
        raise NotVisible("no health record for that citizen")
    return record
