"""The checks behind a login: a password against its argon2 hash, a TOTP code once."""

from __future__ import annotations

import hmac
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

STEP = 30  # seconds of a TOTP time step (RFC 6238)
DRIFT = 1  # steps either side of now that are still accepted (clocks drift)


def password_matches(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to check unknown usernames' passwords against, at the same cost."""
    return hasher.hash("no account has this password")


def totp_step(
    secret: str, code: str | None, after: int | None, now: float | None = None
) -> int | None:
    """The time step `code` is valid for, if later than `after` (each step is good once)."""
    if not code:
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time() if now is None else now) // STEP
    for step in range(current - DRIFT, current + DRIFT + 1):
        fresh = after is None or step > after
        if fresh and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
