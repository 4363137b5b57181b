"""Scheduled sweeps: find what fell due in a read model, let each aggregate decide."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from eventsourcing.persistence import IntegrityError

from rse_shared.eventstore import in_thread

log = logging.getLogger(__name__)


async def sweep(
    due: Awaitable[Iterable[str | uuid.UUID]], act: Callable[[uuid.UUID], Any], *, what: str
) -> int:
    """Call `act(id)` in a worker thread for every id in `due`; count the truthy results.

    The read model may lag, so `act` must check on the aggregate that the step is still
    due (a repeat does nothing). A command saved meanwhile on the same aggregate (e.g. a
    revocation while a consent lapses) wins: the conflict is logged and the next pass
    sees the aggregate as it now is.
    """
    done = 0
    for value in await due:
        aggregate_id = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
        try:
            if await in_thread(act, aggregate_id):
                done += 1
        except IntegrityError:
            log.info(
                "%s changed while sweeping it", what, extra={"aggregate_id": str(aggregate_id)}
            )
    return done
