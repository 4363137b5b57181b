"""The one guard of a proxy's token, run by `authenticated` on every route of every service.

It refuses (403) a route no scope of the token opens, and a relationship the service knows
has ended; then it marks the request as acting through the proxy, so that what it saves
names both the citizen and the proxy.
"""

from __future__ import annotations

import uuid

from fastapi import Request

from rse_shared.auth import Forbidden, Principal
from rse_shared.eventstore import in_thread
from rse_shared.proxy import Acting, act_as, scope_opening

OUTSIDE_SCOPE = "this proxy's relationship does not cover this"
ENDED = "this proxy relationship has ended"


async def check_acting(request: Request, principal: Principal) -> None:
    """Refuse a proxy's token outside its scopes or for an ended relationship (403)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    service = getattr(request.app.state, "service_name", None)
    scope = scope_opening(str(service), request.method, path) if path else None
    if scope is None or scope not in (principal.scopes or frozenset()):
        raise Forbidden(OUTSIDE_SCOPE)
    if await _ended(request, principal):
        raise Forbidden(ENDED)
    act_as(
        Acting(
            actor_id=str(principal.actor),
            relationship_id=str(principal.relationship_id),
            kind=str(principal.proxy_kind or "proxy"),
        )
    )


async def _ended(request: Request, principal: Principal) -> bool:
    """Whether the service's store says the relationship ended; unknown ids are malformed."""
    try:
        relationship_id = uuid.UUID(str(principal.relationship_id))
    except ValueError:
        return True
    app = request.app.state.app
    ended = getattr(app, "relationship_ended", None)
    if ended is None:  # a service that cannot tell takes no proxies at all
        return True
    return bool(await in_thread(ended, relationship_id))
