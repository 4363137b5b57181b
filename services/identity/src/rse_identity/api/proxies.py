"""Acting for someone: guardianships, appointed proxies, and the RFC 8693 token exchange."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, status

from rse_identity.api.dependencies import App, Issuer, Operator, ReadModels, SessionClaims
from rse_identity.api.proxy_schemas import (
    ActingToken,
    Appointment,
    Guardianship,
    Proxies,
    ProxyView,
    RelationshipCreated,
    TokenExchange,
)
from rse_identity.domain.proxy import ProxyRelationship
from rse_identity.proxy_projection import acting_for, represented_by
from rse_shared.api import check_citizen_or
from rse_shared.auth import CurrentPrincipal, Forbidden, Principal
from rse_shared.eventstore import in_thread

proxies = APIRouter(tags=["acting for someone"])


async def own_citizen(principal: CurrentPrincipal) -> uuid.UUID:
    """The calling citizen, signed in as themself (not acting for anyone)."""
    if principal.role != "citizen" or principal.citizen_id is None or principal.actor:
        raise Forbidden("only a citizen, signed in as themself, does this")
    return uuid.UUID(principal.citizen_id)


OwnCitizen = Annotated[uuid.UUID, Depends(own_citizen)]


@proxies.post(
    "/guardianships", status_code=status.HTTP_201_CREATED, response_model=RelationshipCreated
)
async def establish_guardianship(
    body: Guardianship, app: App, operator: Operator
) -> RelationshipCreated:
    """Make a legal guardian of a minor (operators, the documents checked); ends at 18."""
    relationship_id = await in_thread(
        app.establish_guardianship,
        body.minor_id,
        body.guardian_id,
        operator.subject,
        body.documents,
    )
    return RelationshipCreated(relationship_id=relationship_id)


@proxies.post(
    "/citizens/{citizen_id}/proxies",
    status_code=status.HTTP_201_CREATED,
    response_model=RelationshipCreated,
)
async def appoint_proxy(
    citizen_id: uuid.UUID, body: Appointment, app: App, principal: CurrentPrincipal
) -> RelationshipCreated:
    """Appoint an informal caregiver or a healthcare proxy (the citizen; an operator only for a
    healthcare proxy registered in RENTEV); in force once the proxy accepts."""
    by = _appointer(principal, citizen_id, body)
    relationship_id = await in_thread(
        app.appoint_proxy,
        citizen_id,
        body.proxy_id,
        body.kind,
        tuple(body.scopes),
        body.valid_until,
        by,
        body.rentev_reference,
    )
    return RelationshipCreated(relationship_id=relationship_id)


def _appointer(principal: Principal, citizen_id: uuid.UUID, body: Appointment) -> str:
    check_citizen_or(principal, citizen_id, "operator")
    if principal.actor is not None:
        raise Forbidden("a proxy cannot appoint proxies")
    if principal.role == "operator" and not (
        body.kind == "healthcare_proxy" and body.rentev_reference
    ):
        raise Forbidden("an operator appoints only healthcare proxies registered in RENTEV")
    return principal.subject


@proxies.get("/citizens/{citizen_id}/proxies", response_model=Proxies)
async def proxies_of(
    citizen_id: uuid.UUID, app: App, db: ReadModels, caller: OwnCitizen
) -> Proxies:
    """Who acts for the citizen (shown to a minor from 16) and for whom the citizen acts."""
    if caller != citizen_id:
        raise Forbidden("a citizen may only see their own proxies")
    if not await in_thread(app.sees_own_proxies, citizen_id):
        raise Forbidden("a minor sees who acts for them from 16")
    return Proxies(
        represented_by=[ProxyView.of(d) for d in await represented_by(db, str(citizen_id))],
        acting_for=[ProxyView.of(d) for d in await acting_for(db, str(citizen_id))],
    )


@proxies.post("/proxies/{relationship_id}/acceptance", status_code=status.HTTP_204_NO_CONTENT)
async def accept_proxy(relationship_id: uuid.UUID, app: App, caller: OwnCitizen) -> None:
    """The appointed proxy accepts to act for the citizen."""
    await in_thread(app.accept_proxy, relationship_id, caller)


@proxies.post("/proxies/{relationship_id}/revocation", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_proxy(relationship_id: uuid.UUID, app: App, principal: CurrentPrincipal) -> None:
    """Revoke a relationship: the represented citizen at any time, or an operator."""
    if principal.role == "operator":
        await in_thread(app.revoke_proxy, relationship_id, principal.subject, None)
        return
    caller = await own_citizen(principal)
    await in_thread(app.revoke_proxy, relationship_id, str(caller), caller)


@proxies.post("/auth/token/exchange", response_model=ActingToken, responses={403: {}})
async def exchange_token(
    body: TokenExchange, app: App, issuer: Issuer, caller: OwnCitizen, session: SessionClaims
) -> ActingToken:
    """RFC 8693: a token acting for the represented citizen, within the relationship's scopes
    and period (`act.sub` names the proxy); a token already acting for someone is refused.

    It is identity's and belongs to the proxy's login session (`sid`): `POST /auth/exchange`
    turns it into another service's, and the proxy's logout revokes it with the session."""
    relationship = await in_thread(app.acting_relationship, caller, body.subject)
    scopes = _granted(relationship, body.scope)
    claims = {**acting_claims(relationship, scopes), "sid": session.get("sid")}
    ends = _period_end(relationship)
    token = issuer.issue(claims, expires_at=ends if ends is None else min(ends, session["exp"]))
    expires_in = max(0, min(issuer.ttl, (_period_end(relationship) or 2**62) - _now()))
    return ActingToken(
        access_token=token,
        expires_in=expires_in,
        scope=" ".join(scopes),
        relationship_id=relationship.id,
    )


def acting_claims(relationship: ProxyRelationship, scopes: tuple[str, ...]) -> dict[str, object]:
    """The claims of a token acting for the represented citizen (RFC 8693 `act`)."""
    represented = str(relationship.represented_id)
    return {
        "sub": represented,
        "role": "citizen",
        "citizen_id": represented,
        "act": {"sub": str(relationship.proxy_id)},
        "scope": " ".join(scopes),
        "rel": str(relationship.id),
        "proxy_kind": relationship.kind,
    }


def _granted(relationship: ProxyRelationship, asked: str | None) -> tuple[str, ...]:
    if not asked:
        return relationship.scopes
    wanted = tuple(asked.split())
    if not set(wanted) <= set(relationship.scopes):
        raise Forbidden("a scope asked for is not one this relationship grants")
    return tuple(s for s in relationship.scopes if s in wanted)


def _period_end(relationship: ProxyRelationship) -> int | None:
    if relationship.valid_until is None:
        return None
    return int(datetime.combine(relationship.valid_until, time(), UTC).timestamp())


def _now() -> int:
    return int(datetime.now(UTC).timestamp())
