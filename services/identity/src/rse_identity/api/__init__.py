"""Identity's HTTP API: one router per resource (citizens, staff, auth)."""

from rse_identity.api.auth import auth
from rse_identity.api.citizens import citizens
from rse_identity.api.proxies import proxies
from rse_identity.api.staff import staff

__all__ = ["auth", "citizens", "proxies", "staff"]
