"""A privileged read: staff (an operator, an auditor) looked at a citizen's data, and why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id

PrivilegedRole = Literal["operator", "auditor"]
Seen = Literal["personal_data", "consents", "access_history"]


class PrivilegedRead(Aggregate):
    """One staff read of one citizen's data, for the citizen's history (never what was read).

    An auditor's reads of consents and the access history are recorded here by consent
    itself, before the answer; an operator's reads of personal data come from identity.
    """

    class Recorded(Aggregate.Created):
        """The read: who, in which role, why, what (ids and kinds of the entries) and when."""

        read_id: uuid.UUID
        citizen_id: uuid.UUID
        actor_id: str
        role: PrivilegedRole
        purpose: str
        seen: Seen
        entries: list[dict[str, str]]
        read_at: datetime

    @staticmethod
    def create_id(read_id: uuid.UUID) -> uuid.UUID:
        return natural_id("privileged-read", str(read_id))

    @event(Recorded)
    def __init__(
        self,
        read_id: uuid.UUID,
        citizen_id: uuid.UUID,
        actor_id: str,
        role: PrivilegedRole,
        purpose: str,
        seen: Seen,
        entries: list[dict[str, str]],
        read_at: datetime,
    ) -> None:
        self.citizen_id = citizen_id
        self.role = role
