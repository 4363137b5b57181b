"""A privileged read: an operator looked at a citizen's personal data, and said why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

PrivilegedRole = Literal["operator"]


class PersonalDataRead(Aggregate):
    """One operator's read of one citizen's personal data (who, when, why; never the data).

    Its own aggregate, one per read, so that recording a read never contends with a change
    of the citizen's data.
    """

    class Recorded(Aggregate.Created):
        """The read, saved before the data is answered."""

        citizen_id: uuid.UUID
        actor_id: str
        role: PrivilegedRole
        purpose: str
        read_at: datetime

    @event(Recorded)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        actor_id: str,
        role: PrivilegedRole,
        purpose: str,
        read_at: datetime,
    ) -> None:
        self.citizen_id = citizen_id
        self.actor_id = actor_id
        self.role = role
        self.purpose = purpose
        self.read_at = read_at
