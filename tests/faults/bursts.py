"""Making a fault find the relay and the consumers mid-batch.

The relay wakes on every commit (LISTEN/NOTIFY), so a steady load leaves it almost nothing
unpublished; a burst of a few hundred events in one transaction gives it several batches
to read, send and have acknowledged, and the consumers batches of many to apply. A relay
that publishes so fast can still be caught between the broker's ack and its position
save by stalling the save.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import date

import psycopg

from rse_identity.application import IdentityApplication
from rse_identity.domain.citizen import Citizen

from .support import registration

_phones = itertools.count()


def register_directly(app: IdentityApplication, count: int) -> list[uuid.UUID]:
    """`count` citizens registered through the application itself (no API, no broker)."""
    return [
        app.register_citizen(**{**registration(), "date_of_birth": date(1980, 6, 15)})
        for _ in range(count)
    ]


def contact_changes(app: IdentityApplication, citizens: list[uuid.UUID], each: int) -> int:
    """`each` phone changes of every citizen, committed in ONE transaction; the event count.

    The citizens must be none that commands change meanwhile (their save would conflict).
    """
    aggregates: list[Citizen] = [app.repository.get(c) for c in citizens]
    for _ in range(each):
        for citizen in aggregates:
            citizen.update_contacts(None, f"+351 92{next(_phones):07d}", None)
    app.save(*aggregates)
    return each * len(aggregates)


@contextlib.asynccontextmanager
async def relay_position_stalled(conninfo: str) -> AsyncIterator[None]:
    """While in the block, the relay cannot save its position (its table is share-locked):
    it goes on publishing what it had read, and the broker's acks are recorded nowhere."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.transaction():
        await conn.execute("LOCK TABLE outbox_relay_position IN SHARE MODE")
        yield
