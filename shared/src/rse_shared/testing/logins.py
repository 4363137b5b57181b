"""Logging in to identity the way a client does: staff enrol and use TOTP, and each
service gets a token of the session for its own audience.

`login` and `staff_login` remember the identity token they return; a client built with
`ServiceTokens(audience)` as its `auth` swaps such a token, on each request, for one of
the same session for its service (POST /auth/exchange, cached). Any other token (a forged
one, one made by hand) goes out as it is.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import httpx
import pyotp

STEP = 30  # seconds of a TOTP time step
IDENTITY = "rse-identity"
SLACK = 5.0  # seconds a code may take to reach identity: it must still be in the window then


@dataclass
class Session:
    """An identity token, the identity client it came from, its tokens per service."""

    identity: httpx.AsyncClient
    token: str
    username: str
    password: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def token_for(self, audience: str) -> str:
        if audience == IDENTITY:
            return self.token  # what identity's login gives is identity's own
        if audience not in self.tokens:
            response = await self.identity.post(
                "/auth/exchange", json={"audience": audience}, headers=bearer(self.token)
            )
            if response.status_code != 200:
                return self.token  # revoked or expired: let the service refuse it itself
            self.tokens[audience] = str(response.json()["access_token"])
        return self.tokens[audience]


SESSIONS: dict[str, Session] = {}


@dataclass
class Authenticator:
    """A staff member's TOTP app: codes of steps never used before, oldest first."""

    totp: pyotp.TOTP
    last_step: int = 0

    async def next_code(self) -> str:
        """A code of the earliest step identity accepts (one step of drift either side)
        now and still SLACK seconds later, and has not seen; waits for the clock when the
        next such step is still ahead."""
        while True:
            now = time.time()
            earliest, latest = int((now + SLACK) // STEP) - 1, int(now // STEP) + 1
            step = max(earliest, self.last_step + 1)
            if step <= latest:
                self.last_step = step
                return self.totp.generate_otp(step)
            await asyncio.sleep((step - 1) * STEP - now + 0.05)


# By identity client and username: each test's identity has accounts of its own.
AUTHENTICATORS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, Authenticator]] = (
    weakref.WeakKeyDictionary()
)


def authenticator_of(identity: httpx.AsyncClient, username: str) -> Authenticator | None:
    """The TOTP app of a staff member who enrolled through `identity`, if they did."""
    return AUTHENTICATORS.get(identity, {}).get(username)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(
    identity: httpx.AsyncClient, username: str, password: str, totp_code: str | None = None
) -> str:
    """An identity token for the user (remembered, so that ServiceTokens can exchange it)."""
    body = {"username": username, "password": password}
    if totp_code:
        body["totp_code"] = totp_code
    response = await identity.post("/auth/token", json=body)
    assert response.status_code == 200, response.text
    token = str(response.json()["access_token"])
    remember(identity, token, username, password)
    return token


def remember(
    identity: httpx.AsyncClient, token: str, username: str = "", password: str = ""
) -> dict[str, str]:
    """The auth header of an identity token got some other way (the provider's login, a
    proxy's acting token): each service's client exchanges it for its own (ServiceTokens)."""
    SESSIONS[token] = Session(identity, token, username, password)
    return bearer(token)


async def another_session(header: dict[str, str]) -> dict[str, str]:
    """The same user's header for a new login session (to log out without ending theirs)."""
    session = SESSIONS[header["Authorization"].removeprefix("Bearer ")]
    if authenticator_of(session.identity, session.username) is not None:
        token = await staff_login(session.identity, session.username, session.password)
    else:
        token = await login(session.identity, session.username, session.password)
    return bearer(token)


async def staff_login(identity: httpx.AsyncClient, username: str, password: str) -> str:
    """A staff member's identity token: the first time, enrol TOTP with the enrolment-only
    token the password gets; every time, log in with the password and a fresh code."""
    authenticator = authenticator_of(identity, username)
    if authenticator is None:
        authenticator = await enrol(identity, username, password)
        AUTHENTICATORS.setdefault(identity, {})[username] = authenticator
    return await login(identity, username, password, await authenticator.next_code())


async def enrol(identity: httpx.AsyncClient, username: str, password: str) -> Authenticator:
    """Enrol a TOTP second factor for a staff member who has none yet."""
    first = await identity.post("/auth/token", json={"username": username, "password": password})
    assert first.status_code == 200, first.text
    assert first.json()["audience"] == "rse-identity-enrolment", first.text
    limited = bearer(first.json()["access_token"])
    started = await identity.post("/auth/totp", headers=limited)
    assert started.status_code == 200, started.text
    totp = pyotp.parse_uri(started.json()["otpauth_uri"])
    assert isinstance(totp, pyotp.TOTP)
    authenticator = Authenticator(totp)
    code = await authenticator.next_code()
    confirmed = await identity.post("/auth/totp/confirm", json={"code": code}, headers=limited)
    assert confirmed.status_code == 204, confirmed.text
    return authenticator


class ServiceTokens(httpx.Auth):
    """httpx auth for one service's client: the session's token for that service."""

    def __init__(self, audience: str) -> None:
        self.audience = audience

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        header = request.headers.get("Authorization", "")
        session = SESSIONS.get(header.removeprefix("Bearer "))
        if session is not None:
            request.headers["Authorization"] = f"Bearer {await session.token_for(self.audience)}"
        yield request
