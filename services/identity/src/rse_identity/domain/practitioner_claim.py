"""A practitioner claim: one staff account per practitioner id."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id


class PractitionerClaim(Aggregate):
    """Holds a practitioner id for one account: a second claim conflicts at version 1."""

    @staticmethod
    def create_id(practitioner_id: str) -> uuid.UUID:
        return natural_id("practitioner", practitioner_id)

    @event("Claimed")
    def __init__(self, practitioner_id: str, account_id: uuid.UUID) -> None:
        self.account_id = account_id
