"""Benefits' HTTP API: exemption requests, the officers' queue, a citizen's SNS benefits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from rse_benefits.application import BenefitsApplication
from rse_benefits.domain.exemption import Exemption, InvalidDecision
from rse_benefits.projections import ExemptionDocument, exemptions_of, pending_exemptions
from rse_shared.api import Strict, citizen_or, get_app
from rse_shared.auth import Forbidden, Principal, require_roles
from rse_shared.clock import today
from rse_shared.contracts import ExemptionCategory
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels


class Evidence(Strict):
    """A document supporting the request (its kind and a reference to it)."""

    kind: Annotated[str, Field(min_length=1, max_length=100)]
    reference: Annotated[str, Field(min_length=1, max_length=300)]


class ExemptionRequest(Strict):
    """A request for an exemption in one category, with its evidence."""

    category: ExemptionCategory
    evidence: Annotated[list[Evidence], Field(max_length=20)] = []
    household_monthly_income_per_person: Annotated[
        Decimal | None, Field(ge=0, le=1_000_000, max_digits=12, decimal_places=2)
    ] = None


class RenewalRequest(Strict):
    """A request to renew an exemption, with fresh evidence."""

    evidence: Annotated[list[Evidence], Field(max_length=20)] = []
    household_monthly_income_per_person: Annotated[
        Decimal | None, Field(ge=0, le=1_000_000, max_digits=12, decimal_places=2)
    ] = None


class OfficerDecision(Strict):
    """A benefits officer's grant (with its last valid day) or denial."""

    decision: Literal["granted", "denied"]
    valid_until: date | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ExemptionOutcome(BaseModel):
    """The request as recorded: pending, or already decided by a rule."""

    exemption_id: uuid.UUID
    category: ExemptionCategory
    status: str
    valid_until: date | None


class DecisionView(BaseModel):
    """How a request was decided: by a rule or an officer, why, and when."""

    decision: Literal["granted", "denied"]
    basis: Literal["rule", "officer"]
    reason: str
    decided_at: datetime


class ExemptionView(BaseModel):
    """An exemption request as the book holds it."""

    exemption_id: str
    citizen_id: str
    category: str
    status: str
    requested_on: date
    valid_from: date | None = None
    valid_until: date | None = None
    decision: DecisionView | None = None
    renews: str | None = None

    @classmethod
    def of(cls, document: ExemptionDocument) -> Self:
        """The view of a document of the exemption book."""
        return cls.model_validate(
            {**document.model_dump(include=set(cls.model_fields)), "exemption_id": document.id}
        )


class BenefitsView(BaseModel):
    """What the citizen holds today: fee exemption and the benefits that come with it."""

    exempt_from_user_fees: bool
    exemptions: list[ExemptionView]
    benefits: list[str]


App = Annotated[BenefitsApplication, Depends(get_app)]
Officer = Annotated[Principal, Depends(require_roles("benefits_officer"))]
TheCitizen = Annotated[Principal, Depends(citizen_or(detail="only the citizen may do this"))]
CitizenOrOfficer = Annotated[
    Principal,
    Depends(citizen_or("benefits_officer", detail="a citizen may only see their own benefits")),
]

citizens = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])
officers = APIRouter(prefix="/exemptions", tags=["officers"])


def outcome(exemption: Exemption) -> ExemptionOutcome:
    return ExemptionOutcome(
        exemption_id=exemption.id,
        category=exemption.category,
        status=exemption.status,
        valid_until=exemption.valid_until,
    )


@citizens.post("/exemptions", status_code=status.HTTP_201_CREATED, response_model=ExemptionOutcome)
async def request_exemption(
    citizen_id: uuid.UUID, body: ExemptionRequest, app: App, _: TheCitizen
) -> ExemptionOutcome:
    """Ask for an exemption from user fees; rules decide at once where the data allows."""
    exemption = await in_thread(
        app.request_exemption,
        citizen_id,
        body.category,
        [e.model_dump() for e in body.evidence],
        body.household_monthly_income_per_person,
    )
    return outcome(exemption)


@citizens.post(
    "/exemptions/{exemption_id}/renewal",
    status_code=status.HTTP_201_CREATED,
    response_model=ExemptionOutcome,
)
async def renew_exemption(
    citizen_id: uuid.UUID, exemption_id: uuid.UUID, body: RenewalRequest, app: App, _: TheCitizen
) -> ExemptionOutcome:
    """Ask to renew a granted or lapsed exemption."""
    previous = await in_thread(app.exemption, exemption_id)
    if previous.citizen_id != citizen_id:
        raise Forbidden("not your exemption")
    exemption = await in_thread(
        app.request_exemption,
        citizen_id,
        previous.category,
        [e.model_dump() for e in body.evidence],
        body.household_monthly_income_per_person,
        exemption_id,
    )
    return outcome(exemption)


@citizens.get("/exemptions", response_model=list[ExemptionView])
async def list_exemptions(
    citizen_id: uuid.UUID, db: ReadModels, _: CitizenOrOfficer
) -> list[ExemptionView]:
    """Every exemption request of the citizen, newest first."""
    return [ExemptionView.of(d) for d in await exemptions_of(db, str(citizen_id))]


@citizens.get("/benefits", response_model=BenefitsView)
async def benefits(
    citizen_id: uuid.UUID, db: ReadModels, app: App, _: CitizenOrOfficer
) -> BenefitsView:
    """Whether the citizen is exempt from user fees today, and the SNS benefits they hold."""
    on = today(app.clock)
    active = [
        ExemptionView.of(d) for d in await exemptions_of(db, str(citizen_id)) if d.is_active_on(on)
    ]
    return BenefitsView(
        exempt_from_user_fees=bool(active),
        exemptions=active,
        benefits=held_benefits({e.category for e in active}),
    )


def held_benefits(categories: set[str]) -> list[str]:
    """The SNS benefits that come with the active exemption categories."""
    held = ["user_fee_exemption"] if categories else []
    if "economic_insufficiency" in categories:
        held.append("non_urgent_patient_transport")
    return held


@officers.get("/pending", response_model=list[ExemptionView])
async def pending(db: ReadModels, _: Officer) -> list[ExemptionView]:
    """The officers' queue: requests no rule could decide, oldest first."""
    return [ExemptionView.of(d) for d in await pending_exemptions(db)]


@officers.post("/{exemption_id}/decision", response_model=ExemptionOutcome)
async def decide(
    exemption_id: uuid.UUID, body: OfficerDecision, app: App, officer: Officer
) -> ExemptionOutcome:
    """Grant (with an end date) or deny a pending request."""
    if body.decision == "granted" and body.valid_until is None:
        raise InvalidDecision("a granted exemption needs valid_until")
    exemption = await in_thread(
        app.decide_exemption,
        exemption_id,
        body.decision,
        body.valid_until,
        body.reason,
        officer.subject,
    )
    return outcome(exemption)
