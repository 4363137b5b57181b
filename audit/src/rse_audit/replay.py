"""`rse-audit replay`: rebuild consent and access history and the services' decisions.

The topics are read from offset 0 into a local SQLite file, streaming and in batches, so
memory stays flat however long the log is. Every write is keyed by the event's natural id
(consent, access, decision), so re-published copies collapse without a table of seen ids.
Each consent change on the consent service's topics is also kept where it was read
(topic, partition, offset), for records' consent register to be looked up against.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rse_audit.kafka_log import Record, read_topic
from rse_shared.chain import chain_hash
from rse_shared.progress import Progress
from rse_shared.trust import expected_owners

SCHEMA = """
CREATE TABLE IF NOT EXISTS consents (
    consent_id TEXT PRIMARY KEY, citizen_id TEXT NOT NULL, grantee_kind TEXT,
    grantee_id TEXT, categories TEXT, purpose TEXT, valid_from TEXT, valid_until TEXT,
    granted_at TEXT, revoked_at TEXT, expired_at TEXT);
CREATE INDEX IF NOT EXISTS consents_citizen ON consents (citizen_id);
CREATE TABLE IF NOT EXISTS accesses (
    access_id TEXT PRIMARY KEY, citizen_id TEXT NOT NULL, practitioner_id TEXT,
    health_unit TEXT, categories TEXT, purpose TEXT, emergency_reason TEXT,
    decision TEXT, consent_id TEXT, accessed_at TEXT);
CREATE INDEX IF NOT EXISTS accesses_citizen ON accesses (citizen_id);
CREATE TABLE IF NOT EXISTS decisions (
    subject_id TEXT, kind TEXT, citizen_id TEXT NOT NULL, outcome TEXT, detail TEXT,
    decided_at TEXT, PRIMARY KEY (subject_id, kind, decided_at));
CREATE INDEX IF NOT EXISTS decisions_citizen ON decisions (citizen_id);
CREATE TABLE IF NOT EXISTS consent_log (
    topic TEXT, partition INTEGER, record_offset INTEGER, chain_hash TEXT, document TEXT,
    PRIMARY KEY (topic, partition, record_offset));
"""

CONSENT_CHANGES = ("ConsentGranted", "ConsentRevoked", "ConsentExpired")

Apply = Callable[[sqlite3.Connection, dict[str, Any]], None]


def _granted(db: sqlite3.Connection, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT OR IGNORE INTO consents (consent_id, citizen_id, grantee_kind, grantee_id, "
        "categories, purpose, valid_from, valid_until, granted_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (e["consent_id"], e["citizen_id"], e["grantee_kind"], e.get("grantee_id"),
         json.dumps(e["categories"]), e["purpose"], e["valid_from"], e.get("valid_until"),
         e["occurred_at"]))


def _revoked(db: sqlite3.Connection, e: dict[str, Any]) -> None:
    db.execute("UPDATE consents SET revoked_at = ? WHERE consent_id = ?",
               (e["revoked_at"], e["consent_id"]))


def _expired(db: sqlite3.Connection, e: dict[str, Any]) -> None:
    db.execute("UPDATE consents SET expired_at = ? WHERE consent_id = ?",
               (e["expired_at"], e["consent_id"]))


def _accessed(db: sqlite3.Connection, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT OR IGNORE INTO accesses VALUES (?,?,?,?,?,?,?,?,?,?)",
        (e["access_id"], e["citizen_id"], e["practitioner_id"], e.get("health_unit"),
         json.dumps(e["categories"]), e.get("purpose"), e.get("emergency_reason"),
         e["decision"], e.get("consent_id"), e["accessed_at"]))


def _decision(kind: str, subject: str, outcome: str, *detail: str) -> Apply:
    def apply(db: sqlite3.Connection, e: dict[str, Any]) -> None:
        db.execute("INSERT OR IGNORE INTO decisions VALUES (?,?,?,?,?,?)",
                   (e[subject], kind, e["citizen_id"], e.get(outcome),
                    json.dumps({k: e.get(k) for k in detail}), e["occurred_at"]))
    return apply


APPLY: dict[str, Apply] = {
    "ConsentGranted": _granted,
    "ConsentRevoked": _revoked,
    "ConsentExpired": _expired,
    "RecordAccessed": _accessed,
    "MedicationRenewalDecided": _decision("renewal", "request_id", "decision", "reason",
                                          "valid_until", "practitioner_id"),
    "ExemptionDecided": _decision("exemption", "exemption_id", "decision", "category", "basis",
                                  "valid_from", "valid_until", "reason"),
    "ExemptionExpired": _decision("exemption_expiry", "exemption_id", "event_type",
                                  "category", "expired_on"),
    "ReferralRegistered": _decision("referral", "referral_id", "priority", "specialty",
                                    "hospital", "deadline"),
    "ReferralStatusChanged": _decision("referral_status", "referral_id", "status",
                                       "scheduled_for", "reason"),
}


def open_store(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    # A scratch rebuild: if the machine fails mid-way, the replay is simply run again.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.executescript(SCHEMA)
    return db


async def replay(bootstrap: str, topics: list[str], path: Path, *, batch: int = 5000,
                 progress: Progress | None = None) -> int:
    """Rebuild the history from `topics` into the SQLite file `path`; returns events read."""
    db = open_store(path)
    read = 0
    try:
        for topic in topics:
            consents = owner_of(topic) == "consent"
            async for record in read_topic(bootstrap, topic):
                read += 1
                document = record.document
                if document is not None:
                    apply_once(db, document)
                    if consents:
                        log_consent_change(db, record, document)
                if read % batch == 0:
                    db.commit()
                if progress:
                    progress.update(read)
        db.commit()
    finally:
        db.close()
    return read


def owner_of(topic: str) -> str | None:
    """The service that owns `topic` by its name (None if the name names none)."""
    try:
        return expected_owners([topic])[topic]
    except ValueError:
        return None


def log_consent_change(db: sqlite3.Connection, record: Record,
                       document: dict[str, Any]) -> None:
    """Keep a consent change where it was read; its chain hash only if its content has it."""
    if document.get("event_type") not in CONSENT_CHANGES:
        return
    own = document.get("chain_hash")
    db.execute("INSERT OR IGNORE INTO consent_log VALUES (?,?,?,?,?)",
               (record.topic, record.partition, record.offset,
                own if own == chain_hash(document) else None, json.dumps(document)))


def apply_once(db: sqlite3.Connection, document: dict[str, Any]) -> None:
    apply = APPLY.get(str(document.get("event_type")))
    if apply is not None:
        apply(db, document)
