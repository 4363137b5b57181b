"""Many events committed at once, so that a fault finds the relay and the consumers mid-batch.

The relay wakes on every commit (LISTEN/NOTIFY), so a steady load leaves it almost nothing
unpublished; a burst of a few hundred events in one transaction gives it several batches
to read, send and have acknowledged, and the consumers batches of many to apply.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date

from rse_identity.application import IdentityApplication
from rse_identity.domain.citizen import Citizen

from .support import registration

_phones = itertools.count()


def register_directly(app: IdentityApplication, count: int) -> list[uuid.UUID]:
    """`count` citizens registered through the application itself (no API, no broker)."""
    return [app.register_citizen(**{**registration(), "date_of_birth": date(1980, 6, 15)})
            for _ in range(count)]


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
