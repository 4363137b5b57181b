"""A citizen's proxy roster: the open relationships where they are represented or act."""

from __future__ import annotations

import uuid
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id

Side = Literal["represented", "proxy"]


class ProxyRoster(Aggregate):
    """One per citizen; saved with each relationship, so two racing links conflict."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("proxy-roster", str(citizen_id))

    @event("Started")
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id
        self.represented_by: dict[str, str] = {}  # relationship id -> the proxy's citizen id
        self.acts_for: dict[str, str] = {}  # relationship id -> the represented citizen id

    @event("Linked")
    def link(self, relationship_id: uuid.UUID, side: Side, other_id: uuid.UUID) -> None:
        book = self.represented_by if side == "represented" else self.acts_for
        book[str(relationship_id)] = str(other_id)

    def unlink(self, relationship_id: uuid.UUID) -> None:
        key = str(relationship_id)
        if key in self.represented_by or key in self.acts_for:
            self._unlinked(relationship_id=relationship_id)

    @event("Unlinked")
    def _unlinked(self, relationship_id: uuid.UUID) -> None:
        self.represented_by.pop(str(relationship_id), None)
        self.acts_for.pop(str(relationship_id), None)

    def relationship_for(self, represented_id: uuid.UUID) -> uuid.UUID | None:
        """The open relationship this citizen (as proxy) has with `represented_id`, if any."""
        for relationship_id, other in self.acts_for.items():
            if other == str(represented_id):
                return uuid.UUID(relationship_id)
        return None
