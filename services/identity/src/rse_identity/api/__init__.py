"""Identity's HTTP API: one router per resource (citizens, activation, staff, auth, sessions,
oidc, proxies)."""

from rse_identity.api.activation import activation
from rse_identity.api.auth import auth
from rse_identity.api.citizens import citizens
from rse_identity.api.oidc import oidc
from rse_identity.api.proxies import proxies
from rse_identity.api.sessions import sessions
from rse_identity.api.staff import staff

__all__ = ["activation", "auth", "citizens", "oidc", "proxies", "sessions", "staff"]
