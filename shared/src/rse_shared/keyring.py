"""Per-citizen data keys: made once, wrapped by a key-encryption key, destroyed on erasure.

Every citizen has one data key (AES-256-GCM). It encrypts that citizen's personal and
clinical values wherever they are kept: in each service's event store (rse_shared.eventstore)
and in the protected part of the events on Kafka (rse_shared.protection). Destroying it
(`erase`) makes every copy of those values unreadable at once, while the ciphertext — and so
every hash chain over it — stays as it was: crypto-shredding.

The keys live in one table of the platform's key database (`rse_keys`), each wrapped by
the key-encryption key (KEK) the services hold as a secret; the row is the only copy. A
service reaches a key through `PostgresKeyring`:

- it authenticates to PostgreSQL like for its event store (its own role and password, over
  verified TLS), and unwraps with a KEK nobody stores beside the keys: a copy of the
  key table alone, or of a service's database, opens nothing;
- the first service to need a citizen's key makes it (`INSERT ... ON CONFLICT DO NOTHING`:
  two at once agree on one key, and no service ever waits for another to have run);
- every fetch is written to `key_access` (when, which service, which citizen, why) in
  the same statement, so an auditor sees who held which key when;
- a fetched key is kept in memory for at most `cache_seconds` (default 300 s); erasure is
  seen by every service when its cache entry ends, and at once by those that consume
  CitizenErased (`forget`);
- an erased citizen's row keeps when and on what legal basis, never the key: the key
  cannot be made again for that citizen, so nothing of theirs is ever readable again.

Rotating the KEK: `rewrap(old, new)` re-wraps every key under the new KEK (`kek_id` tells
them apart); services are restarted with the new KEK once it has run; the data keys, and
so all the data, are unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rse_shared.keyring_sql import ERASE, ERASE_UNKNOWN, FETCH, SCHEMA
from rse_shared.pool import LazyPool

KEY_BYTES = 32
CACHE_ENTRIES = 200_000


class CitizenErased(LookupError):
    """The citizen was erased: their data key is destroyed, their data unreadable."""

    def __init__(self, citizen_id: uuid.UUID) -> None:
        super().__init__(f"citizen {citizen_id} was erased")
        self.citizen_id = citizen_id


class KekMismatch(RuntimeError):
    """A data key is wrapped by a key-encryption key this service was not given."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def decode_key(text: str) -> bytes:
    """A 32-byte key from its base64 text (as kept in secrets)."""
    key = base64.b64decode(text.strip())
    if len(key) != KEY_BYTES:
        raise ValueError(f"a key must be {KEY_BYTES} bytes, base64-encoded")
    return key


def kek_id(kek: bytes) -> str:
    """A name for a KEK that reveals nothing of it (to tell keys wrapped by each apart)."""
    return hashlib.sha256(b"rse-kek-id:" + kek).hexdigest()[:16]


def wrap(kek: bytes, citizen_id: uuid.UUID, key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, key, b"rse-data-key:" + citizen_id.bytes)


def unwrap(kek: bytes, citizen_id: uuid.UUID, wrapped: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], b"rse-data-key:" + citizen_id.bytes)
    except InvalidTag:
        raise KekMismatch(f"the data key of {citizen_id} does not open with this KEK") from None


@dataclass(frozen=True)
class Erasure:
    """What is kept of an erased citizen's key: when, by whom, on what legal basis."""

    citizen_id: uuid.UUID
    erased_at: datetime
    erased_by: str
    legal_basis: str


class Keyring(Protocol):
    """Where a service gets a citizen's data key (made on first use)."""

    service: str

    def data_key(self, citizen_id: uuid.UUID, purpose: str = "use") -> bytes:
        """The citizen's key; CitizenErased if it was destroyed."""
        ...

    def data_keys(
        self, citizens: Iterable[uuid.UUID], purpose: str = "use"
    ) -> dict[uuid.UUID, bytes]:
        """Many citizens' keys at once; CitizenErased if any was destroyed."""
        ...

    def holds(self, citizen_id: uuid.UUID) -> bool:
        """True if the citizen's key (or its erasure) is known without a round trip."""
        ...

    def erase(self, citizen_id: uuid.UUID, *, erased_by: str, legal_basis: str) -> None:
        """Destroy the citizen's key (idempotent)."""
        ...

    def forget(self, citizen_id: uuid.UUID) -> None:
        """Drop the key from this process's memory (the citizen was erased)."""
        ...


class _Cache:
    """Keys in memory for a bounded time, and the erased citizens (erasure is final)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._keys: OrderedDict[uuid.UUID, tuple[bytes, float]] = OrderedDict()
        self._erased: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    def get(self, citizen_id: uuid.UUID) -> bytes | None:
        with self._lock:
            if citizen_id in self._erased:
                raise CitizenErased(citizen_id)
            held = self._keys.get(citizen_id)
            if held is None:
                return None
            if held[1] <= time.monotonic():
                del self._keys[citizen_id]
                return None
            return held[0]

    def put(self, citizen_id: uuid.UUID, key: bytes) -> None:
        with self._lock:
            self._keys[citizen_id] = (key, time.monotonic() + self.seconds)
            self._keys.move_to_end(citizen_id)
            while len(self._keys) > CACHE_ENTRIES:
                self._keys.popitem(last=False)

    def erased(self, citizen_id: uuid.UUID) -> None:
        with self._lock:
            self._keys.pop(citizen_id, None)
            self._erased.add(citizen_id)

    def drop(self, citizen_id: uuid.UUID) -> None:
        with self._lock:
            self._keys.pop(citizen_id, None)


class MemoryKeyring:
    """A keyring in this process only (unit tests)."""

    def __init__(self, service: str = "test", cache_seconds: float = 300.0) -> None:
        self.service = service
        self.accesses: list[tuple[str, uuid.UUID, str]] = []
        self._keys: dict[uuid.UUID, bytes | None] = {}
        self._lock = threading.Lock()

    def data_key(self, citizen_id: uuid.UUID, purpose: str = "use") -> bytes:
        with self._lock:
            self.accesses.append((self.service, citizen_id, purpose))
            key = self._keys.setdefault(citizen_id, new_key())
        if key is None:
            raise CitizenErased(citizen_id)
        return key

    def data_keys(
        self, citizens: Iterable[uuid.UUID], purpose: str = "use"
    ) -> dict[uuid.UUID, bytes]:
        return {c: self.data_key(c, purpose) for c in dict.fromkeys(citizens)}

    def holds(self, citizen_id: uuid.UUID) -> bool:
        return True  # every key is in memory

    def erase(self, citizen_id: uuid.UUID, *, erased_by: str, legal_basis: str) -> None:
        with self._lock:
            self._keys[citizen_id] = None

    def forget(self, citizen_id: uuid.UUID) -> None:
        """Nothing is cached apart from the table itself."""


class PostgresKeyring:
    """The keys in the platform's key database, reached with this service's credentials."""

    def __init__(
        self, conninfo: str, kek: bytes, *, service: str, cache_seconds: float = 300.0
    ) -> None:
        self.service = service
        self.kek = kek
        self.kek_id = kek_id(kek)
        self.cache = _Cache(cache_seconds)
        self._pool = LazyPool(conninfo, create_schema)

    def _connection(self) -> Any:
        return self._pool.connection()

    def data_key(self, citizen_id: uuid.UUID, purpose: str = "use") -> bytes:
        key = self.cache.get(citizen_id)
        if key is not None:
            return key
        return self.data_keys([citizen_id], purpose)[citizen_id]

    def holds(self, citizen_id: uuid.UUID) -> bool:
        try:
            return self.cache.get(citizen_id) is not None
        except CitizenErased:
            return True  # known erased: a use fails at once

    def data_keys(
        self, citizens: Iterable[uuid.UUID], purpose: str = "use"
    ) -> dict[uuid.UUID, bytes]:
        """The keys of many citizens in one round trip (CitizenErased if any was erased)."""
        wanted = list(dict.fromkeys(citizens))
        found: dict[uuid.UUID, bytes] = {}
        missing = []
        for citizen in wanted:
            key = self.cache.get(citizen)
            if key is None:
                missing.append(citizen)
            else:
                found[citizen] = key
        for _ in range(3):
            if not missing:
                break
            found.update(self._fetch(missing, purpose))
            # A key another service was making at that moment is seen by the next statement.
            missing = [c for c in missing if c not in found]
        if missing:
            raise RuntimeError(f"no data key could be made for {missing[0]}")
        return found

    def _fetch(self, citizens: list[uuid.UUID], purpose: str) -> dict[uuid.UUID, bytes]:
        wrapped = [wrap(self.kek, c, new_key()) for c in citizens]
        params = {
            "kek_id": self.kek_id,
            "service": self.service,
            "purpose": purpose,
            "citizens": citizens,
            "wrapped": wrapped,
        }
        with self._connection() as conn:
            rows = conn.execute(FETCH, params).fetchall()
        keys: dict[uuid.UUID, bytes] = {}
        erased = None
        for citizen_id, row_kek, row_wrapped in rows:
            if row_wrapped is None:
                self.cache.erased(citizen_id)
                erased = citizen_id
                continue
            if row_kek != self.kek_id:
                raise KekMismatch(f"the data key of {citizen_id} is wrapped by KEK {row_kek}")
            key = unwrap(self.kek, citizen_id, bytes(row_wrapped))
            self.cache.put(citizen_id, key)
            keys[citizen_id] = key
        if erased is not None:
            raise CitizenErased(erased)
        return keys

    def erase(self, citizen_id: uuid.UUID, *, erased_by: str, legal_basis: str) -> None:
        params = {"citizen": citizen_id, "by": erased_by, "basis": legal_basis}
        with self._connection() as conn:
            conn.execute(ERASE, params)
            conn.execute(ERASE_UNKNOWN, params)
            conn.execute(
                "INSERT INTO key_access (service, citizen_id, purpose) VALUES (%s, %s, 'erase')",
                (self.service, citizen_id),
            )
        self.cache.erased(citizen_id)

    def erasure(self, citizen_id: uuid.UUID) -> Erasure | None:
        """What is kept of the citizen's erasure (None if not erased)."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT erased_at, erased_by, legal_basis FROM data_keys "
                "WHERE citizen_id = %s AND erased_at IS NOT NULL",
                (citizen_id,),
            ).fetchone()
        return Erasure(citizen_id, row[0], row[1], row[2]) if row else None

    def forget(self, citizen_id: uuid.UUID) -> None:
        self.cache.drop(citizen_id)

    def rewrap(self, new_kek: bytes) -> int:
        """Re-wrap every key under `new_kek` (KEK rotation); the number re-wrapped."""
        done = 0
        new_id = kek_id(new_kek)
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT citizen_id, wrapped FROM data_keys "
                "WHERE kek_id = %s AND wrapped IS NOT NULL",
                (self.kek_id,),
            ).fetchall()
            for citizen_id, wrapped in rows:
                key = unwrap(self.kek, citizen_id, bytes(wrapped))
                conn.execute(
                    "UPDATE data_keys SET kek_id = %s, wrapped = %s WHERE citizen_id = %s",
                    (new_id, wrap(new_kek, citizen_id, key), citizen_id),
                )
                done += 1
        return done

    def close(self) -> None:
        self._pool.close()


def create_schema(conn: psycopg.Connection[Any]) -> None:
    """The key tables, if missing (two services at once may still collide: harmless). A
    service's own role may not create them (rse_shared.key_access): the owner made them."""
    with contextlib.suppress(
        psycopg.errors.UniqueViolation,
        psycopg.errors.DuplicateTable,
        psycopg.errors.InsufficientPrivilege,
    ):
        conn.execute(SCHEMA)


_SHARED: dict[tuple[str, str, str], PostgresKeyring] = {}
_SHARED_LOCK = threading.Lock()


def shared_keyring(
    conninfo: str, kek: bytes, *, service: str, cache_seconds: float = 300.0
) -> PostgresKeyring:
    """One keyring (one cache, one pool) per key database, KEK and service in a process."""
    key = (conninfo, kek_id(kek), service)
    with _SHARED_LOCK:
        keyring = _SHARED.get(key)
        if keyring is None:
            keyring = _SHARED[key] = PostgresKeyring(
                conninfo, kek, service=service, cache_seconds=cache_seconds
            )
        return keyring
