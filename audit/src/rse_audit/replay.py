"""`rse-audit replay`: rebuild consent and access history and the services' decisions.

The topics are read from offset 0 into a local SQLite file, streaming and in batches, so
memory stays flat however long the log is. Every write is keyed by the event's natural id
(consent, access, decision), so re-published copies collapse without a table of seen ids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rse_audit.freshness import record_ends
from rse_audit.kafka_log import Ends, Record, decode, decode_fast, read_batches
from rse_shared.chain import chain_hash
from rse_shared.clock import utcnow
from rse_shared.contracts.envelope import UnknownEventType, contract_for
from rse_shared.keyring import CitizenErased, Keyring
from rse_shared.progress import Progress
from rse_shared.protection import FIELD, ProtectionBroken, hidden, is_protected, reveal
from rse_shared.trust import expected_owners

WITHHELD = "(withheld: protected)"
"""What the history holds for a protected value the auditor was given no key for."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS consents (
    consent_id TEXT PRIMARY KEY, citizen_id TEXT NOT NULL, grantee_kind TEXT,
    grantee_id TEXT, categories TEXT, purpose TEXT, valid_from TEXT, valid_until TEXT,
    granted_at TEXT, revoked_at TEXT, expired_at TEXT);
CREATE TABLE IF NOT EXISTS accesses (
    access_id TEXT PRIMARY KEY, citizen_id TEXT NOT NULL, practitioner_id TEXT,
    health_unit TEXT, categories TEXT, purpose TEXT, emergency_reason TEXT,
    decision TEXT, consent_id TEXT, accessed_at TEXT, action TEXT, role TEXT, actor_id TEXT,
    entries TEXT, relationship TEXT);
CREATE TABLE IF NOT EXISTS decisions (
    subject_id TEXT, kind TEXT, citizen_id TEXT NOT NULL, outcome TEXT, detail TEXT,
    decided_at TEXT, PRIMARY KEY (subject_id, kind, decided_at));
CREATE TABLE IF NOT EXISTS erasures (
    citizen_id TEXT PRIMARY KEY, legal_basis TEXT, reference TEXT, erased_by TEXT,
    erased_at TEXT);
CREATE TABLE IF NOT EXISTS consent_log (
    topic TEXT, partition INTEGER, record_offset INTEGER, chain_hash TEXT, document TEXT,
    PRIMARY KEY (topic, partition, record_offset));
"""

# Built after the load: maintaining them row by row costs more than building them once.
INDEXES = """
CREATE INDEX IF NOT EXISTS consents_citizen ON consents (citizen_id);
CREATE INDEX IF NOT EXISTS accesses_citizen ON accesses (citizen_id);
CREATE INDEX IF NOT EXISTS decisions_citizen ON decisions (citizen_id);
"""


@dataclass(frozen=True)
class Statement:
    """One SQL statement of the replay and the table it writes."""

    table: str
    sql: str


GRANT = Statement(
    "consents",
    "INSERT OR IGNORE INTO consents (consent_id, citizen_id, "
    "grantee_kind, grantee_id, categories, purpose, valid_from, valid_until, "
    "granted_at) VALUES (?,?,?,?,?,?,?,?,?)",
)
REVOKE = Statement("consents", "UPDATE consents SET revoked_at = ? WHERE consent_id = ?")
EXPIRE = Statement("consents", "UPDATE consents SET expired_at = ? WHERE consent_id = ?")
ACCESS = Statement(
    "accesses", "INSERT OR IGNORE INTO accesses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
DECIDE = Statement("decisions", "INSERT OR IGNORE INTO decisions VALUES (?,?,?,?,?,?)")
ERASE = Statement("erasures", "INSERT OR IGNORE INTO erasures VALUES (?,?,?,?,?)")
LOG = Statement("consent_log", "INSERT OR IGNORE INTO consent_log VALUES (?,?,?,?,?)")
CONSENT_CHANGES = ("ConsentGranted", "ConsentRevoked", "ConsentExpired")

Row = tuple[Statement, tuple[Any, ...]]


@lru_cache(maxsize=1024)
def _categories(categories: tuple[str, ...]) -> str:
    """The categories as stored (a JSON list); the same few lists recur in every log."""
    return json.dumps(list(categories))


Apply = Callable[[dict[str, Any]], Row]


def _entries(entries: list[dict[str, Any]] | None) -> str:
    """An access's entries as stored (ids and kinds); most accesses name none."""
    if not entries:
        return "[]"
    return json.dumps([{"id": r["id"], "kind": r["kind"]} for r in entries])


def _granted(e: dict[str, Any]) -> Row:
    return GRANT, (
        e["consent_id"],
        e["citizen_id"],
        e["grantee_kind"],
        e.get("grantee_id"),
        _categories(tuple(e["categories"])),
        e["purpose"],
        e["valid_from"],
        e.get("valid_until"),
        e["occurred_at"],
    )


def _revoked(e: dict[str, Any]) -> Row:
    return REVOKE, (e["revoked_at"], e["consent_id"])


def _expired(e: dict[str, Any]) -> Row:
    return EXPIRE, (e["expired_at"], e["consent_id"])


def _accessed(e: dict[str, Any]) -> Row:
    return ACCESS, (
        e["access_id"],
        e["citizen_id"],
        e["practitioner_id"],
        e.get("health_unit"),
        _categories(tuple(e["categories"])),
        e.get("purpose"),
        e.get("emergency_reason"),
        e["decision"],
        e.get("consent_id"),
        e["accessed_at"],
        # Events from before writes and privileged reads were recorded: a professional's read.
        e.get("action") or "read",
        e.get("role") or "professional",
        e.get("actor_id"),
        _entries(e.get("entries")),
        e.get("relationship"),
    )


def _decision(kind: str, subject: str, outcome: str, *detail: str) -> Apply:
    def apply(e: dict[str, Any]) -> Row:
        return DECIDE, (
            e[subject],
            kind,
            e["citizen_id"],
            e.get(outcome),
            json.dumps({k: e.get(k) for k in detail}),
            e["occurred_at"],
        )

    return apply


def _erased(e: dict[str, Any]) -> Row:
    # The citizen's accesses and decisions stay (metadata the auditor keeps); what made
    # them a person (identity's and records' protected values) no longer opens anywhere.
    return ERASE, (
        e["citizen_id"],
        e.get("legal_basis"),
        e.get("reference"),
        e.get("erased_by"),
        e.get("erased_at"),
    )


APPLY: dict[str, Apply] = {
    "CitizenErased": _erased,
    "ConsentGranted": _granted,
    "ConsentRevoked": _revoked,
    "ConsentExpired": _expired,
    "RecordAccessed": _accessed,
    "MedicationRenewalDecided": _decision(
        "renewal", "request_id", "decision", "reason", "valid_until", "practitioner_id"
    ),
    "ExemptionDecided": _decision(
        "exemption",
        "exemption_id",
        "decision",
        "category",
        "basis",
        "valid_from",
        "valid_until",
        "reason",
    ),
    "ExemptionExpired": _decision(
        "exemption_expiry", "exemption_id", "event_type", "category", "expired_on"
    ),
    "ReferralRegistered": _decision(
        "referral", "referral_id", "priority", "specialty", "hospital", "deadline"
    ),
    "ReferralStatusChanged": _decision(
        "referral_status", "referral_id", "status", "scheduled_for", "reason"
    ),
}


@lru_cache(maxsize=256)
def _withheld_fields(event_type: str, version: int) -> dict[str, str] | None:
    """The contract's protected fields, each marked withheld (None for an unknown type)."""
    try:
        cls = contract_for(event_type, version)
    except UnknownEventType:
        return None
    return dict.fromkeys(cls.protected_fields, WITHHELD)


def withheld(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as a reader without keys sees it: each protected field marked withheld."""
    try:
        fields = _withheld_fields(
            str(document["event_type"]), int(document.get("schema_version", 1))
        )
    except (KeyError, ValueError, TypeError):
        fields = None
    if fields is None:
        return hidden(document)
    seen = {**document, **fields}
    seen.pop(FIELD, None)
    return seen


def readable(document: dict[str, Any], keyring: Keyring | None) -> dict[str, Any]:
    """`document` with its protected fields revealed where the auditor holds the key (each
    fetch logged as the auditor's), else withheld; an erased citizen's stay withheld."""
    if not is_protected(document):
        return document
    if keyring is not None:
        try:
            return reveal(document, keyring)
        except (CitizenErased, ProtectionBroken):
            pass
    return withheld(document)


class Writer:
    """Rows gathered per statement and written with `executemany`, in an equivalent order.

    Statements on different tables commute, so each is gathered on its own; before a row
    of another statement on the same table (a revocation after grants) the gathered rows
    of that table are written first, so every table sees its rows in log order.
    """

    def __init__(self, db: sqlite3.Connection, keyring: Keyring | None = None) -> None:
        self.db = db
        self.keyring = keyring
        self.pending: dict[Statement, list[tuple[Any, ...]]] = {}

    def add(self, document: dict[str, Any]) -> None:
        apply = APPLY.get(str(document.get("event_type")))
        if apply is None:
            return
        statement, params = apply(readable(document, self.keyring))
        rows = self.pending.get(statement)
        if rows is None:
            # Rows another statement gathered for this table go first, in log order.
            for other in [s for s in self.pending if s.table == statement.table]:
                self._write(other)
            rows = self.pending[statement] = []
        rows.append(params)

    def log_consent_change(self, record: Record, document: dict[str, Any]) -> None:
        """Keep a consent change where it was read; its chain hash only if its content has it."""
        if document.get("event_type") not in CONSENT_CHANGES:
            return
        own = document.get("chain_hash")
        self.pending.setdefault(LOG, []).append(
            (
                record.topic,
                record.partition,
                record.offset,
                own if own == chain_hash(document) else None,
                json.dumps(document),
            )
        )

    def flush(self) -> None:
        for statement in list(self.pending):
            self._write(statement)

    def _write(self, statement: Statement) -> None:
        self.db.executemany(statement.sql, self.pending.pop(statement))


def owner_of(topic: str) -> str | None:
    """The service that owns `topic` by its name (None if the name names none)."""
    try:
        return expected_owners([topic])[topic]
    except ValueError:
        return None


def open_store(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    # A scratch rebuild: if the machine fails mid-way, the replay is simply run again.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    # Keys are random uuids: a larger page cache keeps the growing B-trees off the disk.
    db.execute("PRAGMA cache_size = -65536")
    db.executescript(SCHEMA)
    # A history file from before accesses named their action, actor, entries and relationship:
    # its accesses were professionals' reads (NULLs, read as such).
    columns = {row[1] for row in db.execute("PRAGMA table_info(accesses)")}
    for column in ("action", "role", "actor_id", "entries", "relationship"):
        if column not in columns:
            db.execute(f"ALTER TABLE accesses ADD COLUMN {column} TEXT")
    return db


async def replay(
    bootstrap: str,
    topics: list[str],
    path: Path,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
    keyring: Keyring | None = None,
) -> int:
    """Rebuild the history from `topics` into the SQLite file `path`; returns events read.

    Protected values (an exemption's category, a referral's specialty) are revealed with
    `keyring`, else kept as WITHHELD."""
    db = open_store(path)
    writer = Writer(db, keyring)
    read = committed = 0
    # Where each partition's reading stopped, kept for report and as-of to tell the lag.
    started, ends = utcnow(), Ends()
    try:
        for topic in topics:
            # Consent changes are kept with their chain hash: decoded exactly, as verify does.
            consents = owner_of(topic) == "consent"
            async for records in read_batches(
                bootstrap, topic, decode if consents else decode_fast, ends
            ):
                for record in records:
                    if record.document is not None:
                        writer.add(record.document)
                        if consents:
                            writer.log_consent_change(record, record.document)
                read += len(records)
                if read - committed >= batch:
                    writer.flush()
                    db.commit()
                    committed = read
                if progress:
                    progress.update(read)
        writer.flush()
        db.executescript(INDEXES)
        record_ends(db, ends, started)
        db.commit()
    finally:
        db.close()
    return read
