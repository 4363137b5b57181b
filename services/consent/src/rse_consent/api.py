"""Consent's HTTP API: consents (with history and FHIR export), access history, alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rse_consent.application import ConsentApplication
from rse_consent.domain.consent import Consent, Grantee, Status, Validity
from rse_consent.projections import (
    access_alerts_enabled,
    accesses_of,
    alerts_of,
    consents_of,
    find_consent,
    instant,
    validity_of,
)
from rse_shared.auth import CurrentPrincipal, Forbidden
from rse_shared.contracts.consent import Category, GranteeKind, Purpose
from rse_shared.contracts.records import Decision
from rse_shared.eventstore import in_thread
from rse_shared.fhir import ConsentFacts, collection, consent_resource
from rse_shared.service import ReadModels

CategoryOrAll = Literal["health_summary", "vaccinations", "prescriptions", "care_plan",
                        "referrals", "all"]
GranteeId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="skip this many items first")]
FHIR_JSON = "application/fhir+json"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GranteeBody(Strict):
    """One professional (practitioner id), one health unit (its id), or all SNS professionals."""

    kind: GranteeKind
    id: GranteeId | None = None


class ConsentRequest(Strict):
    """A consent to grant: from now (or `valid_from`) until `valid_until`, or open-ended."""

    grantee: GranteeBody
    categories: Annotated[list[CategoryOrAll], Field(min_length=1, max_length=6)]
    purpose: Purpose = "treatment"
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ConsentRequest:
        # Grantee rules are the domain's; InvalidConsent is a ValueError, so a 422 here.
        Grantee(self.grantee.kind, self.grantee.id)
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class GranteeView(BaseModel):
    kind: GranteeKind
    id: str | None


class ConsentView(BaseModel):
    """A consent as it stood at an instant (now, or the `as_of` asked for)."""

    consent_id: uuid.UUID
    citizen_id: uuid.UUID
    grantee: GranteeView
    categories: list[Category]
    purpose: Purpose
    status: Status
    granted_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    expired_at: datetime | None


class AccessView(BaseModel):
    """Who accessed which categories, when, why, and under which consent (metadata only)."""

    access_id: uuid.UUID
    practitioner_id: str
    health_unit: str | None
    categories: list[Category]
    purpose: str | None
    emergency_reason: str | None
    decision: Decision
    consent_id: uuid.UUID | None
    accessed_at: datetime


class AlertView(BaseModel):
    """An alert in the citizen's inbox."""

    alert_id: uuid.UUID
    access_id: uuid.UUID
    practitioner_id: str
    health_unit: str | None
    categories: list[Category]
    decision: Decision
    accessed_at: datetime
    read: bool
    read_at: datetime | None


class AlertSettings(Strict):
    """Whether the citizen is told of every access (emergency access is told regardless)."""

    access_alerts: bool


def get_app(request: Request) -> ConsentApplication:
    app: ConsentApplication = request.app.state.app
    return app


async def the_citizen(citizen_id: uuid.UUID, principal: CurrentPrincipal) -> uuid.UUID:
    """The path's citizen, if the caller is that citizen."""
    if not principal.is_citizen(citizen_id):
        raise Forbidden("only the citizen may do this")
    return citizen_id


async def the_citizen_or_auditor(citizen_id: uuid.UUID, principal: CurrentPrincipal) -> uuid.UUID:
    """The path's citizen, if the caller is that citizen or an auditor."""
    if not (principal.role == "auditor" or principal.is_citizen(citizen_id)):
        raise Forbidden("a citizen may only see their own consents and access history")
    return citizen_id


App = Annotated[ConsentApplication, Depends(get_app)]
OwnCitizen = Annotated[uuid.UUID, Depends(the_citizen)]
VisibleCitizen = Annotated[uuid.UUID, Depends(the_citizen_or_auditor)]

consents = APIRouter(prefix="/citizens/{citizen_id}/consents", tags=["consents"])
history = APIRouter(prefix="/citizens/{citizen_id}/access-history", tags=["access history"])
alerts = APIRouter(prefix="/citizens/{citizen_id}", tags=["access alerts"])


def consent_view(consent_id: uuid.UUID | str, citizen_id: uuid.UUID | str, grantee: Grantee,
                 categories: list[Any], purpose: Purpose, validity: Validity,
                 at: datetime) -> ConsentView | None:
    """The consent as it stood at `at`; None if it was not granted yet."""
    state = validity.status_at(at)
    if state is None:
        return None
    # What happened after `at` was not known then: a past view is never rewritten.
    return ConsentView(
        consent_id=consent_id, citizen_id=citizen_id,
        grantee=GranteeView(kind=grantee.kind, id=grantee.id), categories=categories,
        purpose=purpose, status=state, granted_at=validity.granted_at,
        valid_from=validity.valid_from, valid_until=validity.valid_until,
        revoked_at=_known(validity.revoked_at, at), expired_at=_known(validity.expired_at, at))


def _known(moment: datetime | None, at: datetime) -> datetime | None:
    return moment if moment is not None and moment <= at else None


def view_of_doc(doc: dict[str, Any], at: datetime) -> ConsentView | None:
    return consent_view(doc["_id"], doc["citizen_id"],
                        Grantee(doc["grantee_kind"], doc["grantee_id"]), doc["categories"],
                        doc["purpose"], validity_of(doc), at)


def view_of_consent(consent: Consent, at: datetime) -> ConsentView:
    view = consent_view(consent.id, consent.citizen_id, consent.grantee,
                        list(consent.categories), consent.purpose, consent.validity, at)
    assert view is not None, "a consent just saved exists now"
    return view


@consents.post("", status_code=status.HTTP_201_CREATED, response_model=ConsentView)
async def grant_consent(body: ConsentRequest, citizen_id: OwnCitizen, app: App) -> ConsentView:
    """Grant a consent to a professional, a health unit or all SNS professionals."""
    consent = await in_thread(
        app.grant, citizen_id, Grantee(body.grantee.kind, body.grantee.id), body.categories,
        valid_from=body.valid_from, valid_until=body.valid_until)
    return view_of_consent(consent, app.clock())


@consents.get("", response_model=list[ConsentView])
async def list_consents(
    citizen_id: VisibleCitizen, app: App, db: ReadModels,
    as_of: Annotated[AwareDatetime | None, Query(
        description="the list as it stood at this instant (default: now)")] = None,
    state: Annotated[Status | None, Query(
        alias="status", description="only consents in this status (active: authorised)")] = None,
) -> list[ConsentView]:
    """The citizen's current and past consents, newest first, as of now or any past instant."""
    at = as_of or app.clock()
    views = [view_of_doc(doc, at) for doc in await consents_of(db, str(citizen_id))]
    return [v for v in views if v is not None and (state is None or v.status == state)]


@consents.get("/fhir", response_class=JSONResponse,
              responses={200: {"content": {FHIR_JSON: {}},
                               "description": "a FHIR R4 Bundle of Consent resources"}})
async def export_fhir(citizen_id: VisibleCitizen, app: App, db: ReadModels) -> JSONResponse:
    """The citizen's consents as a FHIR R4 Bundle of Consent resources."""
    now = app.clock()
    resources = [consent_resource(facts_of(doc), now)
                 for doc in await consents_of(db, str(citizen_id))]
    return JSONResponse(collection(resources, now), media_type=FHIR_JSON)


@consents.get("/{consent_id}", response_model=ConsentView)
async def get_consent(consent_id: uuid.UUID, citizen_id: VisibleCitizen, app: App,
                      db: ReadModels) -> ConsentView:
    """One of the citizen's consents, as it stands now."""
    doc = await find_consent(db, str(citizen_id), str(consent_id))
    view = view_of_doc(doc, app.clock()) if doc else None
    if view is None:
        raise ConsentNotVisible(f"consent {consent_id} not found")
    return view


class ConsentNotVisible(LookupError):
    """Not (yet) in the consent book, or not this citizen's."""


@consents.post("/{consent_id}/revocation", response_model=ConsentView)
async def revoke_consent(consent_id: uuid.UUID, citizen_id: OwnCitizen, app: App) -> ConsentView:
    """Revoke a consent from now on; its past stays as it was."""
    consent = await in_thread(app.revoke, citizen_id, consent_id)
    return view_of_consent(consent, app.clock())


@history.get("", response_model=list[AccessView])
async def access_history(
    citizen_id: VisibleCitizen, db: ReadModels, limit: Limit = 100, offset: Offset = 0,
) -> list[AccessView]:
    """Every access to the citizen's record, denials and emergencies included, newest first."""
    docs = await accesses_of(db, str(citizen_id), limit=limit, offset=offset)
    return [AccessView(access_id=d["_id"], **_fields(d, AccessView, "accessed_at"))
            for d in docs]


def _fields(doc: dict[str, Any], model: type[BaseModel], *instants: str) -> dict[str, Any]:
    """The document's fields the model has, instants parsed back from their stored text."""
    fields = {k: v for k, v in doc.items() if k in model.model_fields}
    return {**fields, **{k: instant(doc.get(k)) for k in instants}}


@alerts.get("/alert-settings", response_model=AlertSettings)
async def alert_settings(citizen_id: OwnCitizen, db: ReadModels) -> AlertSettings:
    """Whether the citizen opted in to access alerts."""
    return AlertSettings(access_alerts=await access_alerts_enabled(db, str(citizen_id)))


@alerts.put("/alert-settings", response_model=AlertSettings)
async def choose_alerts(body: AlertSettings, citizen_id: OwnCitizen, app: App) -> AlertSettings:
    """Opt in to (or out of) an alert for every access; emergency access is always alerted."""
    enabled = await in_thread(app.choose_access_alerts, citizen_id, body.access_alerts)
    return AlertSettings(access_alerts=enabled)


@alerts.get("/alerts", response_model=list[AlertView])
async def alert_inbox(citizen_id: OwnCitizen, db: ReadModels, unread: bool = False,
                      limit: Limit = 100, offset: Offset = 0) -> list[AlertView]:
    """The citizen's access alerts, most recent access first (only unread ones if asked)."""
    docs = await alerts_of(db, str(citizen_id), unread_only=unread, limit=limit, offset=offset)
    return [AlertView(alert_id=d["_id"], **_fields(d, AlertView, "accessed_at", "read_at"))
            for d in docs]


@alerts.post("/alerts/{alert_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_alert_read(alert_id: uuid.UUID, citizen_id: OwnCitizen, app: App) -> None:
    """Mark an alert as read."""
    await in_thread(app.mark_alert_read, citizen_id, alert_id)


def facts_of(doc: dict[str, Any]) -> ConsentFacts:
    """A consent of the book, as a FHIR Consent describes it."""
    validity = validity_of(doc)
    return ConsentFacts(
        consent_id=doc["_id"], citizen_id=doc["citizen_id"], grantee_kind=doc["grantee_kind"],
        grantee_id=doc["grantee_id"], categories=doc["categories"], purpose=doc["purpose"],
        granted_at=validity.granted_at, valid_from=validity.valid_from,
        valid_until=validity.valid_until, revoked_at=validity.revoked_at,
        expired_at=validity.expired_at)
