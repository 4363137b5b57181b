"""Progress lines for long-running commands (rebuilds, replays, bulk loads)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A one-line progress bar with count, percentage and rate, redrawn in place."""

    def __init__(
        self, label: str, total: int | None, stream: TextIO = sys.stderr, every: float = 0.2
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.every = every
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self.last_draw >= self.every:
            self.last_draw = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            return f"{self.label} [{bar:<30}] {self.done}/{self.total} {share:6.1%} {rate:,.0f}/s"
        return f"{self.label} {self.done} {rate:,.0f}/s"

    def close(self) -> None:
        self.stream.write("\r" + self.line(time.monotonic()) + "\n")
        self.stream.flush()
