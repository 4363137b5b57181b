"""A token revocation: a session's access tokens void before they expire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id

RevocationReason = Literal["logout", "operator"]


class TokenRevocation(Aggregate):
    """One token (by its jti) and its session revoked; revoking it again changes nothing."""

    class Recorded(Aggregate.Created):
        jti: str
        session_id: str | None
        subject: uuid.UUID
        reason: RevocationReason
        revoked_at: datetime
        expires_at: datetime

    @staticmethod
    def create_id(jti: str) -> uuid.UUID:
        return natural_id("token-revocation", jti)

    @event(Recorded)
    def __init__(
        self,
        jti: str,
        session_id: str | None,
        subject: uuid.UUID,
        reason: RevocationReason,
        revoked_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.jti = jti
        self.session_id = session_id
        self.subject = subject
        self.reason = reason
        self.revoked_at = revoked_at
        self.expires_at = expires_at
