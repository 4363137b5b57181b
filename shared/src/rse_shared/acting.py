"""Who is acting now: the proxy a request acts through, for the events it saves.

Kept apart from rse_shared.proxy (which builds on the event store) so that the event
store's mapper can stamp each event saved during a proxy's request with the proxy.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Acting:
    """A proxy at work: who (the proxy's citizen id), under which relationship, of what kind."""

    actor_id: str
    relationship_id: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {
            "actor_id": self.actor_id,
            "relationship_id": self.relationship_id,
            "kind": self.kind,
        }


_acting: contextvars.ContextVar[Acting | None] = contextvars.ContextVar("acting", default=None)
ACTING_ATTRIBUTE = "_acting"  # on a stored domain event, beside its traceparent


def acting_now() -> Acting | None:
    """The proxy the current request acts through, if any (worker threads inherit it)."""
    return _acting.get()


def act_as(acting: Acting | None) -> None:
    """Attribute what this request saves from now on to `acting` (set by the guard)."""
    _acting.set(acting)


def acting_of(domain_event: Any) -> dict[str, str] | None:
    """The proxy a stored domain event was saved by, if a proxy saved it."""
    acting: dict[str, str] | None = getattr(domain_event, ACTING_ATTRIBUTE, None)
    return acting


class ActingScope:
    """ASGI middleware: each request starts acting for no one, and leaves nothing behind."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _acting.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            _acting.reset(token)
