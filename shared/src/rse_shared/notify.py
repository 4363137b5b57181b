"""Push, not poll: one LISTEN connection per service wakes the relay and the projectors.

eventsourcing's PostgreSQL recorder sends a NOTIFY on its events table's channel in the
transaction of every insert, so a commit reaches the listener as soon as it is visible.
Each follower (relay, projector) waits on its own `Waiter`: woken by a NOTIFY, or by a slow
safety poll, so a lost notification (listener reconnecting, a write that does not notify)
costs at most one poll interval, never an event.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import psycopg
from psycopg import sql

from rse_shared.loops import pause

log = logging.getLogger(__name__)

SAFETY_POLL = 1.0
"""Seconds a follower waits at most when no NOTIFY arrives."""


class Wake(Protocol):
    """How a follower that has caught up waits for more (until `stop`, at most `seconds`)."""

    async def wait(self, stop: asyncio.Event, seconds: float) -> None: ...


class Sleep:
    """Plain polling: the fallback when nothing notifies (e.g. in-memory event stores)."""

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        await pause(stop, seconds)


class Waiter:
    """One follower's doorbell: set by the listener, cleared when the follower wakes."""

    def __init__(self) -> None:
        self.rung = asyncio.Event()

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        ringing = asyncio.ensure_future(self.rung.wait())
        try:
            await asyncio.wait(
                {stopping, ringing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiting in (stopping, ringing):
                waiting.cancel()
            # Cleared before the follower reads, so a commit after this wakes it again.
            self.rung.clear()


class Listener:
    """The service's one LISTEN connection on its event store's channel."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.waiters: list[Waiter] = []
        self.rings = 0  # NOTIFYs (and reconnections) so far: what rse_shared.log_tail watches

    def waiter(self) -> Waiter:
        waiter = Waiter()
        self.waiters.append(waiter)
        return waiter

    def ring(self) -> None:
        self.rings += 1
        for waiter in self.waiters:
            waiter.rung.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`; a broken connection raises (the worker is restarted)."""
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            # Commits made while we were not listening would otherwise wait for the poll.
            self.ring()
            while not stop.is_set():
                async for _ in conn.notifies(timeout=0.5):
                    self.ring()


def listener_for(app: Any, conninfo: str) -> Listener | None:
    """A listener on the channel `app`'s PostgreSQL recorder notifies, or None if it has none."""
    channel = getattr(app.recorder, "channel_name", None)
    return Listener(conninfo, channel) if isinstance(channel, str) else None


def waker(listener: Listener | None) -> Wake:
    """A follower's wake-up: from the listener when there is one, else plain polling."""
    return listener.waiter() if listener is not None else Sleep()
