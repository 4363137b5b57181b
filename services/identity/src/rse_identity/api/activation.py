"""Counter activation: an operator who checked the citizen's card issues a one-time code."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from rse_identity.api.auth import BUSY, retry_later
from rse_identity.api.dependencies import App, Guard, Operator
from rse_identity.domain.activation import ActivationThrottled
from rse_identity.domain.citizen import check_sns_number
from rse_identity.login_guard import HashingBusy
from rse_identity.oidc import domain_rule
from rse_shared.api import Strict
from rse_shared.eventstore import in_thread
from rse_shared.http import problem

activation = APIRouter(prefix="/citizens", tags=["activation"])


class IssuedCode(BaseModel):
    """The activation code, shown this once (identity keeps only its hash)."""

    code: str
    expires_at: datetime


class ActivationRequest(Strict):
    """The citizen's SNS number, the code from the counter and, optionally, a new password."""

    sns_number: str
    code: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=10, max_length=256)] | None = None

    @field_validator("sns_number")
    @classmethod
    def _sns(cls, value: str) -> str:
        return domain_rule(check_sns_number, value)


@activation.post(
    "/{citizen_id}/activation-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedCode,
    responses={409: {}, 429: {"description": "too many codes for this citizen today"}},
)
async def issue_activation_code(
    citizen_id: uuid.UUID, app: App, _: Operator
) -> IssuedCode | JSONResponse:
    """Issue a one-time activation code for a citizen whose card was checked (operators)."""
    try:
        issued = await in_thread(app.issue_activation_code, citizen_id)
    except ActivationThrottled as throttled:
        seconds = max(1, int(throttled.retry_after.total_seconds() + 0.999))
        response = problem(429, "Too Many Requests", str(throttled), retry_after=seconds)
        response.headers["Retry-After"] = str(seconds)
        return response
    return IssuedCode(code=issued.code, expires_at=issued.expires_at)


@activation.post(
    "/activate",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    responses={401: {}, 503: BUSY},
)
async def activate(body: ActivationRequest, app: App, guard: Guard) -> JSONResponse | None:
    """Activate a registered citizen with the counter's code; their login opens."""
    try:
        # Checking the code (and a new password) hashes with argon2: within the shared bound.
        async with guard.gate.slot():
            await in_thread(
                app.activate_with_code, body.sns_number, body.code.upper(), body.password
            )
    except HashingBusy as busy:
        return retry_later(503, "Service Unavailable", str(busy), busy.retry_after)
    return None
