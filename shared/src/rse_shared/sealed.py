"""Sealed boxes: a payload only the holder of one X25519 private key can open.

The sender makes a new X25519 key pair for every message, agrees a secret with the
recipient's public key, derives a ChaCha20-Poly1305 key from it (HKDF-SHA256 over both
public keys) and encrypts; the message carries the ephemeral public key. `context` is
authenticated, not encrypted: a box opened under another context (e.g. moved onto another
citizen's event) fails. Keys are PEM files: `openssl genpkey -algorithm X25519`.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
_NONCE = bytes(12)  # every key is used for one message only


class SealBroken(ValueError):
    """The box was not sealed to this key, or it or its context was altered."""


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(hashes.SHA256(), length=32, salt=ephemeral + recipient, info=b"rse-sealed-box")
    return hkdf.derive(shared)


def seal(recipient: X25519PublicKey, payload: dict[str, Any], context: str) -> str:
    """`payload` (JSON) sealed to `recipient`, bound to `context`; base64 text."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = ephemeral.public_key().public_bytes(*_RAW)
    recipient_raw = recipient.public_bytes(*_RAW)
    key = _key(ephemeral.exchange(recipient), ephemeral_raw, recipient_raw)
    plain = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    box = ChaCha20Poly1305(key).encrypt(_NONCE, plain, VERSION + context.encode())
    return base64.b64encode(VERSION + ephemeral_raw + box).decode()


def open_sealed(private: X25519PrivateKey, sealed: str, context: str) -> dict[str, Any]:
    """The payload of a box sealed to `private`'s public key under `context`, or SealBroken."""
    try:
        raw = base64.b64decode(sealed, validate=True)
    except ValueError:
        raise SealBroken("not a sealed box") from None
    if raw[:1] != VERSION or len(raw) < 1 + 32 + 16:
        raise SealBroken("not a sealed box of this version")
    ephemeral_raw, box = raw[1:33], raw[33:]
    recipient_raw = private.public_key().public_bytes(*_RAW)
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    try:
        plain = ChaCha20Poly1305(_key(shared, ephemeral_raw, recipient_raw)).decrypt(
            _NONCE, box, VERSION + context.encode()
        )
    except InvalidTag:
        raise SealBroken("the box does not open with this key and context") from None
    payload: dict[str, Any] = json.loads(plain)
    return payload


def load_private_key(path: Path) -> X25519PrivateKey:
    """The recipient's X25519 private key from a PEM file."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{path} is not an X25519 private key")
    return key


def load_public_key(path: Path) -> X25519PublicKey:
    """A recipient's X25519 public key from a PEM file."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, X25519PublicKey):
        raise ValueError(f"{path} is not an X25519 public key")
    return key


def write_key_pair(private_path: Path, public_path: Path) -> None:
    """A new key pair: the private key readable by its owner only."""
    key = X25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
