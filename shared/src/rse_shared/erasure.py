"""What every service keeps of a citizen's erasure, and how its read models forget them.

The citizen's data key is destroyed once, in the key database (identity, on the
operator's command); from then on nothing of theirs opens anywhere. Each service then
records a `CitizenErasure` of its own (under its store key, so it stays readable: it holds
no personal data) and `ErasureProjection` deletes every read-model document of the
citizen. A projection rebuild cannot bring them back: the citizen's own events no longer
open (the runner passes over them) and the erasure is replayed after them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event
from pymongo.asynchronous.database import AsyncDatabase

from rse_shared.eventstore import natural_id
from rse_shared.projection import CHECKPOINTS


class CitizenErasure(Aggregate):
    """A citizen this service was told was erased: when, and on what legal basis."""

    store_keyed = True

    class Recorded(Aggregate.Created):
        erased_citizen: uuid.UUID
        legal_basis: str
        erased_at: datetime
        reference: str
        erased_by: str

    @staticmethod
    def create_id(erased_citizen: uuid.UUID) -> uuid.UUID:
        return natural_id("citizen-erasure", str(erased_citizen))

    @event(Recorded)
    def __init__(
        self,
        erased_citizen: uuid.UUID,
        legal_basis: str,
        erased_at: datetime,
        reference: str = "",
        erased_by: str = "",
    ) -> None:
        self.erased_citizen = erased_citizen
        self.legal_basis = legal_basis
        self.erased_at = erased_at
        self.reference = reference
        self.erased_by = erased_by


class ErasureProjection:
    """Deletes, in every read model of the service, the documents of an erased citizen
    (by `citizen_id`, and by `_id` where the document is the citizen's own)."""

    name = "erasures"
    collections: tuple[str, ...] = ()
    handles = (CitizenErasure.Recorded,)

    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        citizen = str(event.erased_citizen)
        for name in await db.list_collection_names():
            if name == CHECKPOINTS:
                continue
            await db[name].delete_many({"citizen_id": citizen})
            await db[name].delete_many({"_id": citizen})
