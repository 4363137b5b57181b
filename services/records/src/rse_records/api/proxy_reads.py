"""A proxy's reads of the record are the citizen's to see: each one is saved before it runs."""

from __future__ import annotations

import uuid

from fastapi import Request

from rse_records.api.dependencies import App
from rse_records.domain.proxy_read import ProxyRead
from rse_shared.auth import CurrentPrincipal
from rse_shared.eventstore import in_thread


def part_read(path: str) -> str:
    """The part of the record a route reads: its last segment, or the whole record."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return "record" if last.startswith("{") else last.replace("-", "_")


async def proxy_read_recorded(
    citizen_id: uuid.UUID, request: Request, app: App, principal: CurrentPrincipal
) -> None:
    """Router dependency: a proxy's read is saved (naming the proxy) before the answer."""
    if principal.actor is None:
        return
    route = request.scope.get("route")
    part = part_read(str(getattr(route, "path", "")))
    read = ProxyRead(citizen_id=citizen_id, part=part, read_at=app.clock())
    await in_thread(app.save, read)
