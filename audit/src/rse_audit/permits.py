"""Every permit re-derived from consent.events alone: did a real consent allow that read?

records decides reads against its own consent register, fed from consent.events. Someone
able to write into records' event store (an insider, a broken consumer) could open a
record by adding a consent the consent service never published. Here each `RecordAccessed`
permit of the replay is checked against the consents the replay rebuilt from
`consent.events`: the consent it names must exist, be the citizen's, cover the reading
professional and every category read, and be in force at the instant of the read.

Writes and patient listings are not re-derived here: a write relies on a care relationship
(family doctor, unit, referral, emergency) that consent.events does not carry.

records learns of a revocation only when it consumes it, so a read may rely on a consent
for a moment after it ended; up to `DELIVERY_GRACE` after the ending that is delivery,
not a violation. (A validity end needs no grace: records checks `valid_until` itself.)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rse_audit.compare import Difference

PERMIT_WITHOUT_CONSENT = "permit without a valid consent"
DELIVERY_GRACE = timedelta(seconds=30)
"""How long after a consent ended records may still act on it, not yet told."""


@dataclass(frozen=True)
class Consent:
    """A consent as consent.events published it, and how it ended."""

    citizen_id: str
    grantee_kind: str
    grantee_id: str | None
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    ended_at: datetime | None

    def names(self, practitioner_id: str | None, health_unit: str | None) -> bool:
        if self.grantee_kind == "all_sns":
            return True
        if self.grantee_kind == "health_unit":
            return health_unit is not None and self.grantee_id == health_unit
        return practitioner_id is not None and self.grantee_id == practitioner_id

    def in_force_at(self, instant: datetime, grace: timedelta = DELIVERY_GRACE) -> bool:
        if instant < self.valid_from:
            return False
        if self.valid_until is not None and instant >= self.valid_until:
            return False
        return self.ended_at is None or instant < self.ended_at + grace


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _consents(history: sqlite3.Connection) -> dict[str, Consent]:
    rows = history.execute(
        "SELECT consent_id, citizen_id, grantee_kind, grantee_id, categories, valid_from, "
        "valid_until, revoked_at, expired_at FROM consents"
    )
    consents = {}
    for cid, citizen, kind, grantee, categories, start, until, revoked, expired in rows:
        ends = [t for t in (_instant(revoked), _instant(expired)) if t is not None]
        valid_from = _instant(start)
        if valid_from is None:
            continue
        consents[cid] = Consent(
            citizen,
            kind,
            grantee,
            frozenset(json.loads(categories)),
            valid_from,
            _instant(until),
            min(ends) if ends else None,
        )
    return consents


def why_invalid(
    access: dict[str, Any], consent: Consent | None, grace: timedelta = DELIVERY_GRACE
) -> str | None:
    """Why the consent a permit names did not allow it (None: it did)."""
    if consent is None:
        return "names a consent consent.events never published"
    if consent.citizen_id != access["citizen_id"]:
        return "names another citizen's consent"
    if not consent.names(access["practitioner_id"], access["health_unit"]):
        return "the consent does not name this professional or unit"
    if not set(json.loads(access["categories"])) <= consent.categories:
        return "the consent does not cover every category read"
    accessed_at = _instant(access["accessed_at"])
    if accessed_at is None or not consent.in_force_at(accessed_at, grace):
        return "the consent was not in force at the instant of the read"
    return None


def permits_without_consent(
    history: sqlite3.Connection, grace: timedelta = DELIVERY_GRACE
) -> list[Difference]:
    """Every replayed permit that no consent published on consent.events allowed."""
    consents = _consents(history)
    cursor = history.execute(
        "SELECT access_id, citizen_id, practitioner_id, health_unit, categories, consent_id, "
        "accessed_at FROM accesses WHERE decision = 'permit' "
        "AND coalesce(action, 'read') = 'read' ORDER BY accessed_at, access_id"
    )
    names = [d[0] for d in cursor.description]
    found = []
    for values in cursor:
        access = dict(zip(names, values, strict=True))
        reason = why_invalid(access, consents.get(access["consent_id"] or ""), grace)
        if reason is not None:
            found.append(
                Difference(
                    PERMIT_WITHOUT_CONSENT,
                    access["access_id"],
                    "consent_id",
                    reason,
                    access["consent_id"],
                )
            )
    return found
