"""The protected part of an integration event: its sensitive fields, under the citizen's key.

A contract names its sensitive fields in `protected_fields` (personal data, clinical
values, exemption categories). On the wire they are not in the document: they travel in
one field, `protected`, as AES-256-GCM-SIV ciphertext under the citizen's data key
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
import hashlib
import json
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV

from rse_shared.keyring import Keyring

FIELD = "protected"
VERSION = "2"
CIPHERS: dict[str, Any] = {"1": AESGCM, "2": AESGCMSIV}


class ProtectionBroken(ValueError):
    """The protected part does not open with the citizen's key: altered or moved."""


def _context(document: dict[str, Any]) -> str:
    return f"{document['event_type']}:{document['event_id']}:{document['citizen_id']}"


def seal_for(
    keyring: Keyring, citizen_id: uuid.UUID, value: Any, context: str, purpose: str = "publish"
) -> str:
    """`value` (JSON) as ciphertext under the citizen's data key, bound to `context` (it
    opens nowhere else): `<version>:<base64 nonce+ciphertext>`.

    AES-256-GCM-SIV with its nonce derived from the context: sealing the same value in the
    same context again gives the same bytes — a relay that publishes an event once more
    after a crash publishes it identically, so the hash chain over the published bytes
    still holds — and, the mode being nonce-misuse resistant, a different value in that
    context reveals nothing but that it differs.
    """
    key = keyring.data_key(citizen_id, purpose)
    nonce = hashlib.sha256(context.encode()).digest()[:12]
    plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    sealed = nonce + AESGCMSIV(key).encrypt(nonce, plain, context.encode())
    return f"{VERSION}:{base64.b64encode(sealed).decode()}"


def open_for(
    keyring: Keyring, citizen_id: uuid.UUID, text: str, context: str, purpose: str = "read"
) -> Any:
    """What `seal_for` sealed (ProtectionBroken if altered or moved; CitizenErased if the
    citizen's key was shredded). Version 1 (AES-256-GCM, random nonce) still opens."""
    version, _, body = text.partition(":")
    if version not in CIPHERS:
        raise ProtectionBroken(f"unknown protection version {version!r}")
    try:
        sealed = base64.b64decode(body, validate=True)
    except ValueError as bad:
        raise ProtectionBroken(f"malformed protected part: {bad}") from None
    key = keyring.data_key(citizen_id, purpose)
    try:
        plain = CIPHERS[version](key).decrypt(sealed[:12], sealed[12:], context.encode())
    except InvalidTag:
        raise ProtectionBroken("the protected part does not open here") from None
    return json.loads(plain)


def protect(document: dict[str, Any], fields: tuple[str, ...], keyring: Keyring) -> dict[str, Any]:
    """`document` with `fields` moved into its encrypted `protected` part."""
    present = {f: document[f] for f in fields if f in document}
    if not present:
        return document
    citizen = uuid.UUID(str(document["citizen_id"]))
    kept = {k: v for k, v in document.items() if k not in present}
    kept[FIELD] = seal_for(keyring, citizen, present, _context(document))
    return kept


def is_protected(document: dict[str, Any]) -> bool:
    return isinstance(document.get(FIELD), str)


def reveal(document: dict[str, Any], keyring: Keyring) -> dict[str, Any]:
    """`document` with its protected fields back in clear (CitizenErased if shredded)."""
    text = document.get(FIELD)
    if not isinstance(text, str):
        return document
    try:
        citizen = uuid.UUID(str(document["citizen_id"]))
        context = _context(document)
    except (ValueError, KeyError) as bad:
        raise ProtectionBroken(f"malformed protected part: {bad}") from None
    revealed = {k: v for k, v in document.items() if k != FIELD}
    revealed.update(open_for(keyring, citizen, text, context))
    return revealed


def hidden(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as a reader without keys sees it (its protected part left out)."""
    return {k: v for k, v in document.items() if k != FIELD}
