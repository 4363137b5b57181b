"""Identity's HTTP API: one router per resource (citizens, staff, auth, sessions)."""

from rse_identity.api.auth import auth
from rse_identity.api.citizens import citizens
from rse_identity.api.sessions import sessions
from rse_identity.api.staff import staff

__all__ = ["auth", "citizens", "sessions", "staff"]
