"""Identity's HTTP API: registration, personal data, staff, login, TOTP, JWKS."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from rse_identity.application import IdentityApplication, staff_username, token_claims
from rse_identity.domain.account import LoginThrottled
from rse_identity.domain.citizen import InvalidCitizenData, check_nif, check_sns_number
from rse_identity.projections import find_citizen
from rse_identity.tokens import TokenIssuer
from rse_shared.auth import CurrentPrincipal, Forbidden, Principal, Role, require_roles
from rse_shared.eventstore import in_thread
from rse_shared.http import problem

Text = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Registration(Strict):
    """A citizen's registration."""

    full_name: Text
    date_of_birth: date
    nif: str
    sns_number: str
    email: EmailStr
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ]{9,15}$")]
    address: Annotated[str, Field(min_length=1, max_length=500)]
    password: Annotated[str, Field(min_length=10, max_length=256)]

    @field_validator("nif")
    @classmethod
    def _nif(cls, value: str) -> str:
        return _domain_rule(check_nif, value)

    @field_validator("sns_number")
    @classmethod
    def _sns(cls, value: str) -> str:
        return _domain_rule(check_sns_number, value)

    @field_validator("date_of_birth")
    @classmethod
    def _born(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("date of birth is in the future")
        return value


def _domain_rule(check: Any, value: str) -> str:
    try:
        check(value)
    except InvalidCitizenData as invalid:
        raise ValueError(str(invalid)) from None
    return value


class Registered(BaseModel):
    citizen_id: uuid.UUID


class ContactsUpdate(Strict):
    """New contacts or address; omitted fields are kept."""

    email: EmailStr | None = None
    phone: Annotated[str | None, Field(pattern=r"^\+?[0-9 ]{9,15}$")] = None
    address: Annotated[str | None, Field(min_length=1, max_length=500)] = None


class FamilyDoctor(Strict):
    practitioner_id: Text
    health_unit: Text


class Deregistration(Strict):
    reason: Literal["death", "emigration"]
    effective_date: date


class FamilyDoctorView(BaseModel):
    practitioner_id: str
    health_unit: str


class CitizenView(BaseModel):
    """A citizen's personal data, as the directory projection holds it."""

    citizen_id: str
    sns_number: str
    nif: str
    full_name: str
    date_of_birth: date
    email: str
    phone: str
    address: str
    status: Literal["registered", "deregistered"]
    family_doctor: FamilyDoctorView | None = None


class StaffProvisioning(Strict):
    username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{2,63}$")]
    password: Annotated[str, Field(min_length=12, max_length=256)]
    role: Literal["professional", "benefits_officer", "auditor", "operator"]
    practitioner_id: Text | None = None
    health_unit: Text | None = None


class Provisioned(BaseModel):
    account_id: uuid.UUID


class Login(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    totp_code: Annotated[str | None, Field(pattern=r"^[0-9]{6}$")] = None


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class TotpEnrolment(BaseModel):
    otpauth_uri: str


class TotpConfirmation(Strict):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


def get_app(request: Request) -> IdentityApplication:
    app: IdentityApplication = request.app.state.app
    return app


def get_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer


App = Annotated[IdentityApplication, Depends(get_app)]
Issuer = Annotated[TokenIssuer, Depends(get_issuer)]
Operator = Annotated[Principal, Depends(require_roles("operator"))]

citizens = APIRouter(prefix="/citizens", tags=["citizens"])
staff = APIRouter(prefix="/staff", tags=["staff"])
auth = APIRouter(tags=["auth"])


def check_self_or_operator(principal: Principal, citizen_id: uuid.UUID) -> None:
    if not (principal.role == "operator" or principal.is_citizen(citizen_id)):
        raise Forbidden("a citizen may only see their own data")


@citizens.post("", status_code=status.HTTP_201_CREATED, response_model=Registered)
async def register_citizen(body: Registration, app: App) -> Registered:
    """Register a citizen (one per SNS number and per NIF)."""
    citizen_id = await in_thread(app.register_citizen, **body.model_dump())
    return Registered(citizen_id=citizen_id)


@citizens.get("/me", response_model=CitizenView)
async def my_personal_data(request: Request, principal: CurrentPrincipal) -> CitizenView:
    """The calling citizen's personal data."""
    if principal.citizen_id is None:
        raise Forbidden("only citizens have personal data here")
    return await _citizen_view(request, principal.citizen_id)


@citizens.get("/{citizen_id}", response_model=CitizenView)
async def personal_data(citizen_id: uuid.UUID, request: Request,
                        principal: CurrentPrincipal) -> CitizenView:
    """A citizen's personal data (the citizen themself, or an operator)."""
    check_self_or_operator(principal, citizen_id)
    return await _citizen_view(request, str(citizen_id))


async def _citizen_view(request: Request, citizen_id: str) -> CitizenView:
    doc = await find_citizen(request.app.state.mongo_db, citizen_id)
    if doc is None:
        raise CitizenNotVisible(citizen_id)
    return CitizenView(citizen_id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


class CitizenNotVisible(LookupError):
    """Not (yet) in the directory."""


@citizens.patch("/{citizen_id}/contacts", status_code=status.HTTP_204_NO_CONTENT)
async def update_contacts(citizen_id: uuid.UUID, body: ContactsUpdate, app: App,
                          principal: CurrentPrincipal) -> None:
    """Update e-mail, phone or address."""
    check_self_or_operator(principal, citizen_id)
    await in_thread(app.update_contacts, citizen_id, **body.model_dump())


@citizens.put("/{citizen_id}/family-doctor", status_code=status.HTTP_204_NO_CONTENT)
async def assign_family_doctor(citizen_id: uuid.UUID, body: FamilyDoctor, app: App,
                               _: Operator) -> None:
    """Assign the citizen's family doctor (operators)."""
    await in_thread(app.assign_family_doctor, citizen_id, body.practitioner_id, body.health_unit)


@citizens.post("/{citizen_id}/deregistration", status_code=status.HTTP_204_NO_CONTENT)
async def deregister(citizen_id: uuid.UUID, body: Deregistration, app: App, _: Operator) -> None:
    """Deregister a citizen for death or emigration; their history is kept (operators)."""
    await in_thread(app.deregister, citizen_id, body.reason, body.effective_date)


@staff.post("", status_code=status.HTTP_201_CREATED, response_model=Provisioned)
async def provision_staff(body: StaffProvisioning, app: App, _: Operator) -> Provisioned:
    """Create a professional, benefits officer, auditor or operator account (operators)."""
    if body.role == "professional" and not (body.practitioner_id and body.health_unit):
        raise InvalidCitizenData("a professional needs a practitioner id and a health unit")
    role: Role = body.role
    account_id = await in_thread(app.provision_staff, username=body.username,
                                 password=body.password, role=role,
                                 practitioner_id=body.practitioner_id,
                                 health_unit=body.health_unit)
    return Provisioned(account_id=account_id)


def account_username(username: str) -> str:
    """SNS numbers log citizens in; anything else is a staff username."""
    return username if username.isdigit() and len(username) == 9 else staff_username(username)


@auth.post("/auth/token", response_model=AccessToken,
           responses={401: {}, 429: {"description": "slow down, or account locked"}})
async def login(body: Login, app: App, issuer: Issuer) -> AccessToken | JSONResponse:
    """Exchange username, password and (once enrolled) a TOTP code for an access token."""
    try:
        account = await in_thread(app.authenticate, account_username(body.username),
                                  body.password, body.totp_code)
    except LoginThrottled as throttled:
        seconds = max(1, int(throttled.retry_after.total_seconds() + 0.999))
        response = problem(429, "Too Many Requests", str(throttled), retry_after=seconds)
        response.headers["Retry-After"] = str(seconds)
        return response
    return AccessToken(access_token=issuer.issue(token_claims(account)), expires_in=issuer.ttl)


@auth.post("/auth/totp", response_model=TotpEnrolment)
async def start_totp(app: App, principal: CurrentPrincipal) -> TotpEnrolment:
    """Start enrolling a TOTP second factor (RFC 6238); confirm it with a first code."""
    uri = await in_thread(app.start_totp_enrolment, uuid.UUID(principal.subject))
    return TotpEnrolment(otpauth_uri=uri)


@auth.post("/auth/totp/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_totp(body: TotpConfirmation, app: App, principal: CurrentPrincipal) -> None:
    """Confirm the TOTP enrolment; from now on login requires a code."""
    await in_thread(app.confirm_totp, uuid.UUID(principal.subject), body.code)


@auth.get("/.well-known/jwks.json")
async def jwks(issuer: Issuer) -> dict[str, Any]:
    """The public keys that verify identity's access tokens."""
    return issuer.jwks()
