"""The API kit every service's routers use: strict bodies, the app dependency, one guard.

`citizen_or(...)` is the one place that decides "the path's citizen is the caller (or the
caller holds one of these roles)": every route that takes a `{citizen_id}` and is not a
professional's consent-checked read goes through it, so IDOR has one place to audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from rse_shared.auth import CurrentPrincipal, Forbidden, Principal, Role

OWN_DATA_ONLY = "a citizen may only reach their own data"
PURPOSE_MIN_LENGTH = 10
PURPOSE_MAX_LENGTH = 500

StatedPurpose = Annotated[
    str | None,
    Query(
        min_length=PURPOSE_MIN_LENGTH,
        max_length=PURPOSE_MAX_LENGTH,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="why an operator or auditor reads this (required of them; not of the citizen)",
    ),
]


class Strict(BaseModel):
    """A request body: unknown fields are refused (422), strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def get_app(request: Request) -> Any:
    """The service's Application, set on the FastAPI app by `assemble`.

    Services alias it with their own type: `App = Annotated[MyApplication, Depends(get_app)]`.
    """
    return request.app.state.app


def state(name: str) -> Callable[[Request], Any]:
    """A dependency returning `app.state.<name>` (e.g. the token issuer, a fee)."""

    def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return dependency


def check_citizen_or(
    principal: Principal, citizen_id: object, *roles: Role, detail: str = OWN_DATA_ONLY
) -> Principal:
    """The caller, if they are the citizen `citizen_id` or hold one of `roles`; else 403."""
    if principal.role in roles or principal.is_citizen(citizen_id):
        return principal
    raise Forbidden(detail)


def citizen_or(
    *roles: Role,
    detail: str = OWN_DATA_ONLY,
) -> Callable[[uuid.UUID, Principal], Awaitable[Principal]]:
    """A route dependency: the path's `{citizen_id}` is the caller, or the caller has `roles`."""

    async def guard(citizen_id: uuid.UUID, principal: CurrentPrincipal) -> Principal:
        return check_citizen_or(principal, citizen_id, *roles, detail=detail)

    return guard


@dataclass(frozen=True)
class PrivilegedRead:
    """A read by staff of a citizen's data, which the citizen's access history must show."""

    actor_id: str
    role: Role
    purpose: str


def check_purpose(principal: Principal, purpose: str | None, *roles: Role) -> PrivilegedRead | None:
    """The privileged read to record, if the caller holds one of `roles` (else None).

    Such a caller must say why: without a purpose the request is invalid (422), like any
    missing required parameter, and nothing is read.
    """
    if principal.role not in roles:
        return None
    if purpose is None or not purpose.strip():
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "purpose"),
                    "msg": f"a {principal.role} must state the purpose of this read",
                    "type": "missing",
                }
            ]
        )
    return PrivilegedRead(actor_id=principal.subject, role=principal.role, purpose=purpose.strip())


def privileged_read(*roles: Role) -> Callable[..., Awaitable[PrivilegedRead | None]]:
    """A route dependency: the stated purpose of a caller holding `roles`, required of them."""

    async def guard(
        principal: CurrentPrincipal, purpose: StatedPurpose = None
    ) -> PrivilegedRead | None:
        return check_purpose(principal, purpose, *roles)

    return guard
