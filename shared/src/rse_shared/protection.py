"""The protected part of an integration event: its sensitive fields, under the citizen's key.

A contract names its sensitive fields in `protected_fields` (personal data, clinical
values, exemption categories). On the wire they are not in the document: they travel in
one field, `protected`, as AES-256-GCM ciphertext under the citizen's data key
(rse_shared.keyring), bound to the event's id, type and citizen (moved onto another event
it no longer opens). The envelope, the ids, the type, the positions and the chain fields
stay in clear, so routing, per-citizen order, the dead-letter queues and `rse-audit verify`
need no key; the chain hash is over the bytes as published, so shredding the key later
leaves every chain intact.

A consumer `reveal`s a document before parsing it: its protected fields are put back.
The citizen's key destroyed, `reveal` raises CitizenErased, and the consumer skips the
event (nothing to apply, no dead letter).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rse_shared.keyring import Keyring

FIELD = "protected"
VERSION = "1"


class ProtectionBroken(ValueError):
    """The protected part does not open with the citizen's key: altered or moved."""


def _context(document: dict[str, Any]) -> bytes:
    return f"{document['event_type']}:{document['event_id']}:{document['citizen_id']}".encode()


def protect(document: dict[str, Any], fields: tuple[str, ...], keyring: Keyring) -> dict[str, Any]:
    """`document` with `fields` moved into its encrypted `protected` part."""
    present = {f: document[f] for f in fields if f in document}
    if not present:
        return document
    key = keyring.data_key(uuid.UUID(str(document["citizen_id"])), "publish")
    nonce = os.urandom(12)
    plain = json.dumps(present, separators=(",", ":"), sort_keys=True).encode()
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, _context(document))
    kept = {k: v for k, v in document.items() if k not in present}
    kept[FIELD] = f"{VERSION}:{base64.b64encode(sealed).decode()}"
    return kept


def is_protected(document: dict[str, Any]) -> bool:
    return isinstance(document.get(FIELD), str)


def reveal(document: dict[str, Any], keyring: Keyring) -> dict[str, Any]:
    """`document` with its protected fields back in clear (CitizenErased if shredded)."""
    text = document.get(FIELD)
    if not isinstance(text, str):
        return document
    version, _, body = text.partition(":")
    if version != VERSION:
        raise ProtectionBroken(f"unknown protection version {version!r}")
    try:
        sealed = base64.b64decode(body, validate=True)
        citizen = uuid.UUID(str(document["citizen_id"]))
    except (ValueError, KeyError) as bad:
        raise ProtectionBroken(f"malformed protected part: {bad}") from None
    key = keyring.data_key(citizen, "read")
    try:
        plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], _context(document))
    except InvalidTag:
        raise ProtectionBroken("the protected part does not open for this event") from None
    revealed = {k: v for k, v in document.items() if k != FIELD}
    revealed.update(json.loads(plain))
    return revealed


def hidden(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as a reader without keys sees it (its protected part left out)."""
    return {k: v for k, v in document.items() if k != FIELD}
