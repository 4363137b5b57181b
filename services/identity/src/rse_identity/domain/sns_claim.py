"""An SNS number claim: one SNS number belongs to one citizen."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event

from rse_identity.domain.number_release import claim_key
from rse_shared.eventstore import natural_id


class SnsClaim(Aggregate):
    """Holds an SNS number for one citizen: a second claim conflicts at version 1.

    Citizen ids are random, so this claim (saved with the citizen, in one transaction) is
    what keeps the SNS number unique, and how a citizen is found by their number.
    """

    @staticmethod
    def create_id(sns_number: str, generation: int = 0) -> uuid.UUID:
        return natural_id("sns", claim_key(sns_number, generation))

    @event("Claimed")
    def __init__(self, sns_number: str, citizen_id: uuid.UUID, generation: int = 0) -> None:
        self.citizen_id = citizen_id
        self.generation = generation
