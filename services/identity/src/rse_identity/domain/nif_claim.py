"""A NIF claim: one NIF belongs to one citizen."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from rse_shared.eventstore import natural_id


class NifClaim(Aggregate):
    """Holds a NIF for one citizen: a second claim conflicts at version 1."""

    @staticmethod
    def create_id(nif: str) -> uuid.UUID:
        return natural_id("nif", nif)

    @event("Claimed")
    def __init__(self, nif: str, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id


# Claims stored before this module was split out of `citizen` carry the old topic.
register_topic("rse_identity.domain.citizen:NifClaim", NifClaim)
