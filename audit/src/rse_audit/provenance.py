"""Every change of records' consent register, looked up on consent.events.

records decides each read against its own consent register; each change of it (a grant,
a revocation, an expiry) names the consent.events record it came from: topic, partition,
offset and chain hash. Here every change in records' event store is looked up in the
replay: a record must be there, on a topic of the consent service, with that chain hash
(and a content that has it), saying the same thing (the same kind of change, consent and
citizen, and for a grant the same terms). A change written into the store directly, by an
insider or a broken consumer, names no such record. `permits_without_consent` names the
reads such a change opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from rse_audit.compare import Difference
from rse_shared.eventstore import DateAsISO, StateCipher, state_aad
from rse_shared.keyring import CitizenErased, Keyring, decode_key

NOT_ON_CONSENT_EVENTS = "consent register entry not on consent.events"
EVENTS_TABLE = "records_events"
# The register's changes, by the class name eventsourcing stores in each event's topic.
CHANGES = {
    "ConsentRegister.Granted": "ConsentGranted",
    "ConsentRegister.Revoked": "ConsentRevoked",
    "ConsentRegister.Expired": "ConsentExpired",
}
GRANT_TERMS = ("grantee_kind", "grantee_id", "categories", "purpose", "valid_from", "valid_until")
ENDING = {"ConsentRevoked": "revoked_at", "ConsentExpired": "expired_at"}


@dataclass(frozen=True)
class RegisterChange:
    """One change of a citizen's consent register, as records' event store holds it."""

    register_id: str
    version: int
    event_type: str
    """The consent.events type it must come from (ConsentGranted, ...)."""
    state: dict[str, Any]

    @property
    def consent_id(self) -> str:
        return str(self.state.get("consent_id"))


def _transcoder() -> JSONTranscoder:
    """The transcodings records stores its events with (rse_shared.eventstore)."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


def records_cipher(store_key: str, keyring: Keyring) -> StateCipher:
    """What opens records' stored events: its store key (base64), and the citizens' keys."""
    return StateCipher(decode_key(store_key), keyring)


def register_changes(conninfo: str, cipher: StateCipher | None = None) -> Iterator[RegisterChange]:
    """Every grant, revocation and expiry in records' event store, in the order stored.

    Stored state is sealed (rse_shared.eventstore): `cipher` opens it; an erased citizen's
    changes no longer open and are passed over (their consent.events records are shredded
    alike, so there is nothing left to vouch for)."""
    transcoder = _transcoder()
    with psycopg.connect(conninfo) as conn, conn.cursor(name="register_changes") as cursor:
        cursor.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "  # noqa: S608
            "WHERE topic LIKE %s ORDER BY notification_id",
            ("%:ConsentRegister.%",),
        )
        for originator_id, version, topic, state in cursor:
            event_type = CHANGES.get(str(topic).rsplit(":", 1)[-1])
            if event_type is None:
                continue
            try:
                plain = _opened(cipher, originator_id, int(version), bytes(state))
            except CitizenErased:
                continue
            yield RegisterChange(
                str(originator_id), int(version), event_type, transcoder.decode(plain)
            )


def _opened(cipher: StateCipher | None, originator_id: Any, version: int, state: bytes) -> bytes:
    if cipher is None:
        return state
    return cipher.open(state, state_aad(originator_id, version))


def _instant(value: Any) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if isinstance(value, datetime) else None


def _same(field: str, stored: Any, published: Any) -> bool:
    if field in ("valid_from", "valid_until", "revoked_at", "expired_at"):
        return _instant(stored) == _instant(published)
    if field == "categories":
        return set(stored or ()) == set(published or ())
    return bool(stored == published)


def _says_the_same(change: RegisterChange, document: dict[str, Any]) -> bool:
    if (
        document.get("event_type") != change.event_type
        or document.get("consent_id") != change.consent_id
        or document.get("citizen_id") != str(change.state.get("citizen_id"))
    ):
        return False
    fields = GRANT_TERMS if change.event_type == "ConsentGranted" else (ENDING[change.event_type],)
    return all(_same(f, change.state.get(f), document.get(f)) for f in fields)


def why_not_published(history: sqlite3.Connection, change: RegisterChange) -> str | None:
    """Why the consent.events record a change names does not vouch for it (None: it does)."""
    source = change.state.get("source")
    if not isinstance(source, dict):
        return "names no consent.events record"
    row = history.execute(
        "SELECT chain_hash, document FROM consent_log WHERE topic = ? AND partition = ? "
        "AND record_offset = ?",
        (source.get("topic"), source.get("partition"), source.get("offset")),
    ).fetchone()
    if row is None:
        return "no consent change of consent.events is at the position it names"
    logged_hash, document = row
    if logged_hash is None or logged_hash != source.get("chain_hash"):
        return "the record at that position has another chain hash"
    if not _says_the_same(change, json.loads(document)):
        return "the record at that position says something else"
    return None


def entries_not_on_consent_events(
    history: sqlite3.Connection, changes: Iterable[RegisterChange]
) -> list[Difference]:
    """Every register change no record of the replayed consent.events vouches for."""
    found = []
    for change in changes:
        reason = why_not_published(history, change)
        if reason is not None:
            found.append(
                Difference(
                    NOT_ON_CONSENT_EVENTS,
                    change.consent_id,
                    f"{change.event_type} (register {change.register_id} v{change.version})",
                    reason,
                    change.state.get("source"),
                )
            )
    return found
