"""Questions an auditor asks of the replayed history (metadata only, never clinical content)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

ACTIVE_AT = """
julianday(granted_at) <= julianday(:at) AND julianday(valid_from) <= julianday(:at)
AND (valid_until IS NULL OR julianday(:at) < julianday(valid_until))
AND (revoked_at IS NULL OR julianday(:at) < julianday(revoked_at))
AND (expired_at IS NULL OR julianday(:at) < julianday(expired_at))
"""


@dataclass(frozen=True)
class AsOf:
    """What a citizen had authorised at a moment, and who had accessed what by then."""

    citizen_id: str
    at: str
    consents: list[dict[str, Any]]
    accesses: list[dict[str, Any]]


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        for listed in ("categories", "entries"):
            if isinstance(row.get(listed), str):
                row[listed] = json.loads(row[listed])
        rows.append(row)
    return rows


def as_of(db: sqlite3.Connection, citizen_id: str, at: str) -> AsOf:
    consents = _rows(
        db.execute(
            f"SELECT * FROM consents WHERE citizen_id = :citizen AND {ACTIVE_AT} "  # noqa: S608
            "ORDER BY granted_at",
            {"citizen": citizen_id, "at": at},
        )
    )
    accesses = _rows(
        db.execute(
            "SELECT * FROM accesses WHERE citizen_id = :citizen "
            "AND julianday(accessed_at) <= julianday(:at) ORDER BY accessed_at",
            {"citizen": citizen_id, "at": at},
        )
    )
    return AsOf(citizen_id, at, consents, accesses)


def consents_of(db: sqlite3.Connection, citizen_id: str) -> list[dict[str, Any]]:
    return _rows(
        db.execute("SELECT * FROM consents WHERE citizen_id = ? ORDER BY granted_at", (citizen_id,))
    )


def accesses_of(
    db: sqlite3.Connection,
    citizen_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[dict[str, Any]]:
    query = "SELECT * FROM accesses WHERE 1 = 1"
    params: list[str] = []
    if citizen_id:
        query += " AND citizen_id = ?"
        params.append(citizen_id)
    if since:
        query += " AND julianday(accessed_at) >= julianday(?)"
        params.append(since)
    if until:
        query += " AND julianday(accessed_at) < julianday(?)"
        params.append(until)
    return _rows(db.execute(query + " ORDER BY accessed_at", params))


def decisions_of(db: sqlite3.Connection, citizen_id: str) -> list[dict[str, Any]]:
    rows = _rows(
        db.execute(
            "SELECT * FROM decisions WHERE citizen_id = ? ORDER BY decided_at", (citizen_id,)
        )
    )
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows
