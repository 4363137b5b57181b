"""Identity's request bodies and response views."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import BaseModel, EmailStr, Field, field_validator

from rse_identity.domain.citizen import InvalidCitizenData, check_nif, check_sns_number
from rse_identity.projections import CitizenDocument
from rse_shared.api import Strict
from rse_shared.clock import today
from rse_shared.contracts.identity import ErasureBasis

Text = Annotated[str, Field(min_length=1, max_length=200)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ]{9,15}$")]
Address = Annotated[str, Field(min_length=1, max_length=500)]
TotpCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class Registration(Strict):
    """A citizen's registration."""

    full_name: Text
    date_of_birth: date
    nif: str
    sns_number: str
    email: EmailStr
    phone: Phone
    address: Address
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
        if value > today():
            raise ValueError("date of birth is in the future")
        return value


def _domain_rule(check: Callable[[str], None], value: str) -> str:
    # The domain's own rule, reported as a validation error (422) before any command runs.
    try:
        check(value)
    except InvalidCitizenData as invalid:
        raise ValueError(str(invalid)) from None
    return value


class Registered(BaseModel):
    """The new citizen's id."""

    citizen_id: uuid.UUID


class ContactsUpdate(Strict):
    """New contacts or address; omitted fields are kept."""

    email: EmailStr | None = None
    phone: Phone | None = None
    address: Address | None = None


class FamilyDoctor(Strict):
    """The practitioner and health unit to assign."""

    practitioner_id: Text
    health_unit: Text


class Deregistration(Strict):
    """Why and from when a citizen leaves the register."""

    reason: Literal["death", "emigration"]
    effective_date: date


class Erasure(Strict):
    """Why a citizen is erased: the legal basis, and the order, case or rule it follows."""

    legal_basis: ErasureBasis
    reference: str = Field(min_length=1, max_length=200)


class FamilyDoctorView(BaseModel):
    """A citizen's family doctor."""

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

    @classmethod
    def of(cls, document: CitizenDocument) -> Self:
        """The view of a directory entry."""
        return cls.model_validate(
            {**document.model_dump(include=set(cls.model_fields)), "citizen_id": document.id}
        )


class StaffProvisioning(Strict):
    """A staff account to create."""

    username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{2,63}$")]
    password: Annotated[str, Field(min_length=12, max_length=256)]
    role: Literal["professional", "hospital_staff", "benefits_officer", "auditor", "operator"]
    practitioner_id: Text | None = None
    health_unit: Text | None = None
    hospital: Text | None = None


class Provisioned(BaseModel):
    """The new staff account's id."""

    account_id: uuid.UUID


# One audience per service: a token names the one service it is for (RFC 9068 `aud`).
Audience = Literal[
    "rse-identity", "rse-consent", "rse-records", "rse-requests", "rse-benefits",
    "rse-notifications",
]  # fmt: skip
Password = Annotated[str, Field(min_length=1, max_length=256)]


class Login(Strict):
    """Username, password, once enrolled a TOTP code, and the service the token is for."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password
    totp_code: TotpCode | None = None
    audience: Audience | None = None


class Exchange(Strict):
    """The service a token of the same session is wanted for."""

    audience: Audience


class AccessToken(BaseModel):
    """A signed access token, the service it is for, and how long it lasts.

    Staff without an enrolled second factor get a token for `rse-identity-enrolment`:
    good only to enrol TOTP.
    """

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    audience: str


class PasswordChange(Strict):
    """The current password and the new one."""

    current_password: Password
    new_password: Annotated[str, Field(min_length=10, max_length=256)]


class TotpReenrolment(Strict):
    """Replacing an enrolled second factor: the current password and a current code."""

    password: Password
    code: TotpCode


class Revocation(Strict):
    """A token an operator revokes (e.g. found leaked), and with it its session."""

    access_token: Annotated[str, Field(min_length=1, max_length=4096)]


class TotpEnrolment(BaseModel):
    """The otpauth URI to scan into an authenticator app."""

    otpauth_uri: str


class TotpConfirmation(Strict):
    """The first code of the authenticator app."""

    code: TotpCode
