"""One login started at the OpenID Connect provider: its state, nonce and PKCE verifier."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id


class OidcLoginRefused(Exception):
    """An unknown, expired or already used state, or an ID token that does not verify."""


class OidcLogin(Aggregate):
    """Kept server-side between /auth/oidc/start and the callback; usable once.

    Its id comes from the state, so the callback finds it, and two callbacks racing with
    the same state conflict on the save: only one is answered with tokens.
    """

    @staticmethod
    def create_id(state: str) -> uuid.UUID:
        return natural_id("oidc-login", state)

    @event("Started")
    def __init__(self, state: str, nonce: str, code_verifier: str, expires_at: datetime) -> None:
        self.nonce = nonce
        self.code_verifier = code_verifier
        self.expires_at = expires_at
        self.used = False

    def check_usable(self, now: datetime) -> None:
        if self.used or now >= self.expires_at:
            raise OidcLoginRefused("unknown, expired or used state")

    @event("Used")
    def use(self, at: datetime) -> None:
        self.check_usable(at)
        self.used = True
