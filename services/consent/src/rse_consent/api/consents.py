"""The citizen's consents: grant, list (as of any instant), read, revoke, export as FHIR."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from rse_consent.api.dependencies import (
    THE_CITIZEN,
    THE_CITIZEN_OR_AUDITOR,
    App,
    AuditorRead,
    recorded,
)
from rse_consent.api.schemas import (
    FHIR_JSON,
    ConsentRequest,
    ConsentView,
    facts_of,
    view_of_consent,
    view_of_entry,
)
from rse_consent.domain.consent import ConsentNotVisible, Grantee, Status
from rse_consent.projections import consents_of, find_consent
from rse_shared.eventstore import in_thread
from rse_shared.fhir import collection, consent_resource
from rse_shared.service import ReadModels

router = APIRouter(prefix="/citizens/{citizen_id}/consents", tags=["consents"])

AsOf = Annotated[
    AwareDatetime | None, Query(description="the list as it stood at this instant (default: now)")
]
InStatus = Annotated[
    Status | None,
    Query(alias="status", description="only consents in this status (active: authorised)"),
]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ConsentView, dependencies=[THE_CITIZEN]
)
async def grant_consent(body: ConsentRequest, citizen_id: uuid.UUID, app: App) -> ConsentView:
    """Grant a consent to a professional, a health unit or all SNS professionals."""
    consent = await in_thread(
        app.grant,
        citizen_id,
        Grantee(body.grantee.kind, body.grantee.id),
        body.categories,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    return view_of_consent(consent, app.clock())


@router.get("", response_model=list[ConsentView], dependencies=[THE_CITIZEN_OR_AUDITOR])
async def list_consents(
    citizen_id: uuid.UUID,
    app: App,
    db: ReadModels,
    read: AuditorRead,
    as_of: AsOf = None,
    state: InStatus = None,
) -> list[ConsentView]:
    """The citizen's current and past consents, newest first, as of now or any past instant."""
    at = as_of or app.clock()
    views = [view_of_entry(entry, at) for entry in await consents_of(db, str(citizen_id))]
    shown = [v for v in views if v is not None and (state is None or v.status == state)]
    await recorded(app, citizen_id, read, "consents", _consents(v.consent_id for v in shown))
    return shown


def _consents(ids: Iterable[object]) -> list[tuple[str, str]]:
    return [(str(i), "consent") for i in ids]


@router.get(
    "/fhir",
    response_class=JSONResponse,
    dependencies=[THE_CITIZEN_OR_AUDITOR],
    responses={
        200: {"content": {FHIR_JSON: {}}, "description": "a FHIR R4 Bundle of Consent resources"}
    },
)
async def export_fhir(
    citizen_id: uuid.UUID, app: App, db: ReadModels, read: AuditorRead
) -> JSONResponse:
    """The citizen's consents as a FHIR R4 Bundle of Consent resources."""
    now = app.clock()
    entries = await consents_of(db, str(citizen_id))
    resources = [consent_resource(facts_of(entry), now) for entry in entries]
    await recorded(app, citizen_id, read, "consents", _consents(e.id for e in entries))
    return JSONResponse(collection(resources, now), media_type=FHIR_JSON)


@router.get("/{consent_id}", response_model=ConsentView, dependencies=[THE_CITIZEN_OR_AUDITOR])
async def get_consent(
    consent_id: uuid.UUID, citizen_id: uuid.UUID, app: App, db: ReadModels, read: AuditorRead
) -> ConsentView:
    """One of the citizen's consents, as it stands now."""
    entry = await find_consent(db, str(citizen_id), str(consent_id))
    view = view_of_entry(entry, app.clock()) if entry else None
    if view is None:
        raise ConsentNotVisible(f"consent {consent_id} not found")
    await recorded(app, citizen_id, read, "consents", _consents([consent_id]))
    return view


@router.post("/{consent_id}/revocation", response_model=ConsentView, dependencies=[THE_CITIZEN])
async def revoke_consent(consent_id: uuid.UUID, citizen_id: uuid.UUID, app: App) -> ConsentView:
    """Revoke a consent from now on; its past stays as it was."""
    consent = await in_thread(app.revoke, citizen_id, consent_id)
    return view_of_consent(consent, app.clock())
