"""`rse-audit compare`: the history rebuilt from the log against the live projections.

Compares the consent service's read models (consents, access history) and the outcome of
the decisions requests (renewals) and benefits (exemptions) show with what the replay
rebuilt from the topics; timestamps are compared as instants.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_audit.replay import WITHHELD
from rse_shared.clock import as_utc
from rse_shared.readmodel import from_exact

CONSENT_FIELDS = (
    "citizen_id",
    "grantee_kind",
    "grantee_id",
    "categories",
    "purpose",
    "valid_from",
    "valid_until",
    "revoked_at",
    "expired_at",
)
ACCESS_FIELDS = (
    "citizen_id",
    "practitioner_id",
    "health_unit",
    "categories",
    "purpose",
    "emergency_reason",
    "decision",
    "consent_id",
    "accessed_at",
)

STAFF_READERS = ("operator", "auditor")


@dataclass(frozen=True)
class Difference:
    """One disagreement between the replay and a live projection."""

    kind: str
    key: str
    field: str
    replayed: Any
    live: Any

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {self.field}: replayed={self.replayed!r} live={self.live!r}"


def _normal(value: Any) -> Any:
    value = from_exact(value)  # the consent service keeps its instants to the microsecond
    if isinstance(value, datetime):
        return as_utc(value)  # a BSON datetime is UTC, with or without the client's tz_aware
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return sorted(map(str, value))
    return value


# An erased citizen's documents are deleted from every live read model: their replayed
# rows are compared with nothing (the replay keeps them, marked in `erasures`).
NOT_ERASED = "citizen_id NOT IN (SELECT citizen_id FROM erasures)"


def _rows(db: sqlite3.Connection, table: str, key: str) -> dict[str, dict[str, Any]]:
    cursor = db.execute(f"SELECT * FROM {table} WHERE {NOT_ERASED}")  # noqa: S608 - fixed names
    names = [d[0] for d in cursor.description]
    rows = {}
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        if isinstance(row.get("categories"), str):
            row["categories"] = json.loads(row["categories"])
        rows[row[key]] = row
    return rows


async def _live(
    collection: Any, query: dict[str, Any] | None = None
) -> AsyncIterator[dict[str, Any]]:
    async for doc in collection.find(query or {}):
        yield doc


def _diff(
    kind: str,
    replayed: dict[str, dict[str, Any]],
    live: dict[str, dict[str, Any]],
    fields: tuple[str, ...],
) -> Iterator[Difference]:
    for key in sorted(set(replayed) | set(live)):
        if key not in live:
            yield Difference(kind, key, "*", "present", "missing")
            continue
        if key not in replayed:
            yield Difference(kind, key, "*", "missing", "present")
            continue
        for field in fields:
            a, b = _normal(replayed[key].get(field)), _normal(live[key].get(field))
            if a == WITHHELD:
                continue  # replayed without the citizen's key: nothing to compare
            if a != b:
                yield Difference(kind, key, field, a, b)


async def compare(history: sqlite3.Connection, consent_db: AsyncDatabase[Any]) -> list[Difference]:
    live_consents = {str(d["_id"]): d async for d in _live(consent_db.consents)}
    # Staff reads (operators', auditors') are consent's own record, not records' reports.
    reported = {"role": {"$nin": list(STAFF_READERS)}}
    live_accesses = {str(d["_id"]): d async for d in _live(consent_db.accesses, reported)}
    return [
        *_diff("consent", _rows(history, "consents", "consent_id"), live_consents, CONSENT_FIELDS),
        *_diff("access", _rows(history, "accesses", "access_id"), live_accesses, ACCESS_FIELDS),
    ]


# The live status a replayed decision must show (a later step may have followed it).
OUTCOMES = {
    ("renewal", "approved"): {"approved", "prescribed"},
    ("renewal", "rejected"): {"rejected"},
    ("exemption", "granted"): {"granted", "expired"},
    ("exemption", "denied"): {"denied"},
}


async def compare_decisions(
    history: sqlite3.Connection, requests_db: AsyncDatabase[Any], benefits_db: AsyncDatabase[Any]
) -> list[Difference]:
    """Every renewal and exemption decision in the log, as the services show it now."""
    live = {"renewal": requests_db.renewals, "exemption": benefits_db.exemptions}
    differences = []
    rows = history.execute(
        "SELECT subject_id, kind, outcome FROM decisions "  # noqa: S608 - fixed names
        f"WHERE kind IN ('renewal', 'exemption') AND {NOT_ERASED}"
    ).fetchall()
    for subject_id, kind, outcome in rows:
        doc = await live[kind].find_one({"_id": subject_id})
        status = doc.get("status") if doc else None
        if status not in OUTCOMES[(kind, outcome)]:
            differences.append(Difference(kind, subject_id, "status", outcome, status))
    return differences
