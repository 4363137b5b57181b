"""A NIF claim: one NIF belongs to one citizen."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from rse_identity.domain.number_release import claim_key
from rse_shared.eventstore import natural_id


class NifClaim(Aggregate):
    """Holds a NIF for one citizen: a second claim conflicts at version 1."""

    @staticmethod
    def create_id(nif: str, generation: int = 0) -> uuid.UUID:
        return natural_id("nif", claim_key(nif, generation))

    @event("Claimed")
    def __init__(self, nif: str, citizen_id: uuid.UUID, generation: int = 0) -> None:
        self.citizen_id = citizen_id
        self.generation = generation


# Claims stored before this module was split out of `citizen` carry the old topic.
register_topic("rse_identity.domain.citizen:NifClaim", NifClaim)
