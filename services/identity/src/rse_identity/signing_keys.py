"""Rotation of identity's signing key, with an overlap.

`rse-identity rotate-key` keeps the public half of the signing key beside it, in
`<name>.retired-<unix time>.pem` (the private half is destroyed: nothing signs with it
again), and writes a new signing key. Restarted, identity signs with the new key and keeps
publishing each retired key's public half in its JWKS for `signing_key_overlap_seconds`
after its retirement, so that tokens signed before the rotation still verify until they
expire; retired keys older than the overlap are deleted at the next rotation.
"""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rse_shared.keys import load_or_create_key, write_new_key


def _retired_files(path: Path) -> list[tuple[float, Path]]:
    found = []
    for file in path.parent.glob(f"{path.stem}.retired-*.pem"):
        stamp = file.name.removesuffix(".pem").rsplit(".retired-", 1)[-1]
        if stamp.isdigit():
            found.append((float(stamp), file))
    return sorted(found)


def retired_keys(
    path: Path | None, overlap: float, now: float | None = None
) -> list[Ed25519PublicKey]:
    """The public keys retired from `path` less than `overlap` seconds ago, oldest first."""
    if path is None:
        return []
    now = time.time() if now is None else now
    keys = []
    for retired_at, file in _retired_files(path):
        if now - retired_at < overlap:
            public = serialization.load_pem_public_key(file.read_bytes())
            if isinstance(public, Ed25519PublicKey):
                keys.append(public)
    return keys


def rotate_key(path: Path, overlap: float, now: float | None = None) -> Path:
    """Retire the key at `path` (kept for `overlap`), write a new one; the retired file."""
    now = time.time() if now is None else now
    old = load_or_create_key(path).public_key()  # a key to retire, even on the first rotation
    retired = path.with_name(f"{path.stem}.retired-{int(now)}.pem")
    retired.write_bytes(
        old.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path.unlink()
    write_new_key(path)
    for retired_at, file in _retired_files(path):
        if now - retired_at >= overlap:
            file.unlink()
    return retired
