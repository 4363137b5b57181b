"""Small asyncio helpers for the background loops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Worker = Callable[[asyncio.Event], Awaitable[None]]
"""A background loop: runs until the event is set."""


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
