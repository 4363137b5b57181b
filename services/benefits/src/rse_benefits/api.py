"""Benefits' HTTP API: exemption requests, the officers' queue, a citizen's SNS benefits."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from rse_benefits.application import BenefitsApplication
from rse_benefits.domain.exemption import Exemption
from rse_benefits.projections import exemptions_of, pending_exemptions
from rse_shared.auth import CurrentPrincipal, Forbidden, Principal, require_roles
from rse_shared.contracts import ExemptionCategory
from rse_shared.eventstore import in_thread


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Evidence(Strict):
    """A document supporting the request (its kind and a reference to it)."""

    kind: Annotated[str, Field(min_length=1, max_length=100)]
    reference: Annotated[str, Field(min_length=1, max_length=300)]


class ExemptionRequest(Strict):
    category: ExemptionCategory
    evidence: Annotated[list[Evidence], Field(max_length=20)] = []
    household_monthly_income_per_person: Annotated[
        Decimal | None, Field(ge=0, le=1_000_000, max_digits=12, decimal_places=2)] = None


class RenewalRequest(Strict):
    evidence: Annotated[list[Evidence], Field(max_length=20)] = []
    household_monthly_income_per_person: Annotated[
        Decimal | None, Field(ge=0, le=1_000_000, max_digits=12, decimal_places=2)] = None


class OfficerDecision(Strict):
    decision: Literal["granted", "denied"]
    valid_until: date | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ExemptionOutcome(BaseModel):
    """The request as recorded: pending, or already decided by a rule."""

    exemption_id: uuid.UUID
    category: ExemptionCategory
    status: str
    valid_until: date | None


class ExemptionView(BaseModel):
    exemption_id: str
    citizen_id: str
    category: str
    status: str
    requested_on: date
    valid_from: date | None = None
    valid_until: date | None = None
    decision: dict[str, Any] | None = None
    renews: str | None = None


class BenefitsView(BaseModel):
    """What the citizen holds today: fee exemption and the benefits that come with it."""

    exempt_from_user_fees: bool
    exemptions: list[ExemptionView]
    benefits: list[str]


def get_app(request: Request) -> BenefitsApplication:
    app: BenefitsApplication = request.app.state.app
    return app


App = Annotated[BenefitsApplication, Depends(get_app)]
Officer = Annotated[Principal, Depends(require_roles("benefits_officer"))]

citizens = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])
officers = APIRouter(prefix="/exemptions", tags=["officers"])


def check_self(principal: Principal, citizen_id: uuid.UUID) -> None:
    if not principal.is_citizen(citizen_id):
        raise Forbidden("only the citizen may do this")


def check_self_or_officer(principal: Principal, citizen_id: uuid.UUID) -> None:
    if not (principal.role == "benefits_officer" or principal.is_citizen(citizen_id)):
        raise Forbidden("a citizen may only see their own benefits")


def outcome(exemption: Exemption) -> ExemptionOutcome:
    return ExemptionOutcome(exemption_id=exemption.id, category=exemption.category,
                            status=exemption.status, valid_until=exemption.valid_until)


def view(doc: dict[str, Any]) -> ExemptionView:
    return ExemptionView(exemption_id=doc["_id"], **{
        k: v for k, v in doc.items() if k in ExemptionView.model_fields})


@citizens.post("/exemptions", status_code=status.HTTP_201_CREATED, response_model=ExemptionOutcome)
async def request_exemption(citizen_id: uuid.UUID, body: ExemptionRequest, app: App,
                            principal: CurrentPrincipal) -> ExemptionOutcome:
    """Ask for an exemption from user fees; rules decide at once where the data allows."""
    check_self(principal, citizen_id)
    exemption = await in_thread(
        app.request_exemption, citizen_id, body.category,
        [e.model_dump() for e in body.evidence], body.household_monthly_income_per_person)
    return outcome(exemption)


@citizens.post("/exemptions/{exemption_id}/renewal", status_code=status.HTTP_201_CREATED,
               response_model=ExemptionOutcome)
async def renew_exemption(citizen_id: uuid.UUID, exemption_id: uuid.UUID, body: RenewalRequest,
                          app: App, principal: CurrentPrincipal) -> ExemptionOutcome:
    """Ask to renew a granted or lapsed exemption."""
    check_self(principal, citizen_id)
    previous = await in_thread(app.exemption, exemption_id)
    if previous.citizen_id != citizen_id:
        raise Forbidden("not your exemption")
    exemption = await in_thread(
        app.request_exemption, citizen_id, previous.category,
        [e.model_dump() for e in body.evidence], body.household_monthly_income_per_person,
        exemption_id)
    return outcome(exemption)


@citizens.get("/exemptions", response_model=list[ExemptionView])
async def list_exemptions(citizen_id: uuid.UUID, request: Request,
                          principal: CurrentPrincipal) -> list[ExemptionView]:
    """Every exemption request of the citizen, newest first."""
    check_self_or_officer(principal, citizen_id)
    return [view(d) for d in await exemptions_of(request.app.state.mongo_db, str(citizen_id))]


@citizens.get("/benefits", response_model=BenefitsView)
async def benefits(citizen_id: uuid.UUID, request: Request, app: App,
                   principal: CurrentPrincipal) -> BenefitsView:
    """Whether the citizen is exempt from user fees today, and the SNS benefits they hold."""
    check_self_or_officer(principal, citizen_id)
    docs = await exemptions_of(request.app.state.mongo_db, str(citizen_id))
    today = app.clock().isoformat()
    active = [view(d) for d in docs if d["status"] == "granted"
              and (d.get("valid_from") or today) <= today <= (d.get("valid_until") or today)]
    return BenefitsView(exempt_from_user_fees=bool(active), exemptions=active,
                        benefits=held_benefits({e.category for e in active}))


def held_benefits(categories: set[str]) -> list[str]:
    """The SNS benefits that come with the active exemption categories."""
    held = ["user_fee_exemption"] if categories else []
    if "economic_insufficiency" in categories:
        held.append("non_urgent_patient_transport")
    return held


@officers.get("/pending", response_model=list[ExemptionView])
async def pending(request: Request, _: Officer) -> list[ExemptionView]:
    """The officers' queue: requests no rule could decide, oldest first."""
    return [view(d) for d in await pending_exemptions(request.app.state.mongo_db)]


@officers.post("/{exemption_id}/decision", response_model=ExemptionOutcome)
async def decide(exemption_id: uuid.UUID, body: OfficerDecision, app: App,
                 officer: Officer) -> ExemptionOutcome:
    """Grant (with an end date) or deny a pending request."""
    if body.decision == "granted" and body.valid_until is None:
        raise InvalidDecision("a granted exemption needs valid_until")
    exemption = await in_thread(app.decide_exemption, exemption_id, body.decision,
                                body.valid_until, body.reason, officer.subject)
    return outcome(exemption)


class InvalidDecision(ValueError):
    """An officer's decision that breaks a rule."""
