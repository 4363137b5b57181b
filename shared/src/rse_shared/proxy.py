"""Acting for someone else: the scopes a proxy holds, what each opens, and the one guard.

A proxy (a legal guardian, an informal caregiver, a healthcare proxy) logs in as themself
and exchanges that token at identity for one acting for the represented citizen (RFC 8693:
`sub`/`citizen_id` the represented citizen, `act.sub` the proxy, `scope`, `rel` the
relationship). Every service checks such a token in `authenticated` (rse_shared.auth):
the route must be one its scopes open (`OPENS`, deny by default: a route not listed is
closed to every proxy) and the relationship must not have ended (revoked, come of age,
period over). What the proxy then saves is attributed to them (`acting_now`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal, NamedTuple, Protocol

from eventsourcing.domain import Aggregate, event

from rse_shared.acting import Acting, act_as, acting_now, acting_of
from rse_shared.eventstore import natural_id

__all__ = [
    "OPENS",
    "PROXY_KINDS",
    "SCOPES",
    "Acting",
    "EndedRelationship",
    "EndedRelationships",
    "Endpoint",
    "ProxyKind",
    "Scope",
    "act_as",
    "acting_now",
    "acting_of",
    "scope_opening",
]

Scope = Literal[
    "record.read", "consents.manage", "appointments", "renewals", "exemptions", "referrals.read"
]
SCOPES: tuple[Scope, ...] = (
    "record.read",
    "consents.manage",
    "appointments",
    "renewals",
    "exemptions",
    "referrals.read",
)
ProxyKind = Literal["legal_guardian", "informal_caregiver", "healthcare_proxy"]
PROXY_KINDS: tuple[ProxyKind, ...] = ("legal_guardian", "informal_caregiver", "healthcare_proxy")
TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"


class Endpoint(NamedTuple):
    """One route of one service: its method and path template."""

    service: str
    method: str
    path: str


def _under(service: str, prefix: str, *routes: tuple[str, str]) -> tuple[Endpoint, ...]:
    return tuple(Endpoint(service, method, prefix + path) for method, path in routes)


_CONSENTS = "/citizens/{citizen_id}/consents"
_RECORD = "/records/{citizen_id}"
_CITIZEN = "/citizens/{citizen_id}"

OPENS: dict[Scope, tuple[Endpoint, ...]] = {
    "record.read": (
        *_under("identity", "/citizens", ("GET", "/me"), ("GET", "/{citizen_id}")),
        *_under(
            "records",
            _RECORD,
            ("GET", ""),
            ("GET", "/health-summary"),
            ("GET", "/vaccinations"),
            ("GET", "/care-plan"),
            ("GET", "/prescriptions"),
            ("GET", "/accesses"),
        ),
        Endpoint("consent", "GET", _CITIZEN + "/access-history"),
    ),
    "consents.manage": (
        *_under(
            "consent",
            _CONSENTS,
            ("POST", ""),
            ("GET", ""),
            ("GET", "/fhir"),
            ("GET", "/{consent_id}"),
            ("POST", "/{consent_id}/revocation"),
        ),
        *_under(
            "consent",
            _CITIZEN,
            ("GET", "/alert-settings"),
            ("PUT", "/alert-settings"),
            ("GET", "/alerts"),
            ("POST", "/alerts/{alert_id}/read"),
        ),
    ),
    "appointments": _under(
        "requests",
        _CITIZEN,
        ("GET", "/slots"),
        ("POST", "/appointments"),
        ("GET", "/appointments"),
        ("POST", "/appointments/{appointment_id}/cancellation"),
    ),
    "renewals": _under(
        "requests",
        _CITIZEN,
        ("POST", "/renewals"),
        ("GET", "/renewals"),
        ("GET", "/renewals/{request_id}"),
    ),
    "exemptions": _under(
        "benefits",
        _CITIZEN,
        ("POST", "/exemptions"),
        ("POST", "/exemptions/{exemption_id}/renewal"),
        ("GET", "/exemptions"),
        ("GET", "/benefits"),
    ),
    "referrals.read": (Endpoint("requests", "GET", _CITIZEN + "/referrals"),),
}
"""Every route each scope opens to a proxy; anything else refuses a proxy's token (403)."""


def scope_opening(service: str, method: str, path: str) -> Scope | None:
    """The scope that opens this route to a proxy, or None if no scope does."""
    wanted = Endpoint(service, method.upper(), path)
    for scope, endpoints in OPENS.items():
        if wanted in endpoints:
            return scope
    return None


class EndedRelationships(Protocol):
    """What a service's application answers for the guard: has this relationship ended?"""

    def relationship_ended(self, relationship_id: uuid.UUID) -> bool: ...


class EndedRelationship(Aggregate):
    """A proxy relationship a service learnt (from identity.events) has ended: refuse it."""

    store_keyed = True  # ids and dates only: still refused after the citizen's erasure

    class Recorded(Aggregate.Created):
        relationship_id: uuid.UUID
        citizen_id: uuid.UUID
        reason: str
        ended_at: datetime

    @staticmethod
    def create_id(relationship_id: uuid.UUID) -> uuid.UUID:
        return natural_id("ended-proxy-relationship", str(relationship_id))

    @event(Recorded)
    def __init__(
        self, relationship_id: uuid.UUID, citizen_id: uuid.UUID, reason: str, ended_at: datetime
    ) -> None:
        self.relationship_id = relationship_id
        self.citizen_id = citizen_id
        self.reason = reason
