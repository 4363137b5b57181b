"""How many times an erasure released an SNS number or a NIF: the generation of its claims.

A claim's id comes from its number (a second registration conflicts at version 1, no read
before the write). The erased citizen's claim cannot be rewritten — its events are sealed
under the shredded key — so an erasure releases the number instead: the next claim of it
takes the next generation's id (`natural_id("sns", "<number>#<generation>")`). The release
holds neither the number nor any citizen (its id is derived from the number), so it is
kept under the store key and read without anyone's data key.
"""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id

NumberKind = str  # "sns" or "nif"


def release_id(kind: NumberKind, number: str) -> uuid.UUID:
    return natural_id(f"released-{kind}", number)


def claim_key(number: str, generation: int) -> str:
    """The natural key of a number's claim in a generation (generation 0: the number)."""
    return number if generation == 0 else f"{number}#{generation}"


class NumberRelease(Aggregate):
    """The number's current generation: 1 after its first erasure, 2 after a second."""

    store_keyed = True

    @staticmethod
    def create_id(release: uuid.UUID) -> uuid.UUID:
        return release

    @event("Released")
    def __init__(self, release: uuid.UUID) -> None:
        self.generation = 1

    @event("ReleasedAgain")
    def release_again(self) -> None:
        self.generation += 1
