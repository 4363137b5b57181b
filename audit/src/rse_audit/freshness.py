"""How far the replayed history is behind the log: events since the replay, and since when.

The replay keeps, per partition, the offset it read up to (the partition's end when its
reading began) and when it ran. Comparing those with the log's end offsets now says how many
events the history lacks; the oldest of them (its broker timestamp) says since when.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rse_audit.kafka_log import Ends, log_ends, timestamps_at

SCHEMA = """
CREATE TABLE IF NOT EXISTS replayed (
    topic TEXT, partition INTEGER, end_offset INTEGER, replayed_at TEXT,
    PRIMARY KEY (topic, partition));
"""


def record_ends(db: sqlite3.Connection, ends: Ends, at: datetime) -> None:
    """Where the replay stopped on every partition it read, and when."""
    db.executescript(SCHEMA)
    db.executemany(
        "INSERT OR REPLACE INTO replayed VALUES (?,?,?,?)",
        [(topic, partition, end, at.isoformat()) for (topic, partition), end in ends.items()],
    )


@dataclass(frozen=True)
class Replayed:
    """What a history file holds: the partitions' offsets read up to, and when."""

    ends: Ends
    at: str | None

    @property
    def topics(self) -> list[str]:
        return sorted({topic for topic, _ in self.ends})


def replayed(path: Path) -> Replayed | None:
    """The replay `path` holds (None: no file, or one written before replays kept offsets)."""
    if not path.exists():
        return None
    with sqlite3.connect(path) as db:
        try:
            rows = db.execute("SELECT topic, partition, end_offset, replayed_at FROM replayed")
            found = rows.fetchall()
        except sqlite3.OperationalError:
            return None
    if not found:
        return None
    return Replayed({(t, p): end for t, p, end, _ in found}, max(at for *_, at in found))


@dataclass(frozen=True)
class Lag:
    """Events in the log and not in the history (None: there is no history to compare)."""

    path: Path
    replay: Replayed | None
    events: int | None
    since: datetime | None = None

    @property
    def behind(self) -> bool:
        return self.events is None or self.events > 0

    def describe(self) -> str:
        if self.replay is None:
            return f"no replayed history in {self.path} (or one that predates replay offsets)"
        text = f"the history in {self.path} (replayed at {self.replay.at}) is {self.events} "
        text += "event" if self.events == 1 else "events"
        text += " behind the log"
        if self.since is not None:
            text += f", the oldest published at {self.since.isoformat()}"
        return text


async def lag_of(bootstrap: str, path: Path) -> Lag:
    """The history at `path` against the log's end offsets now."""
    replay = replayed(path)
    if replay is None:
        return Lag(path, None, None)
    now = await log_ends(bootstrap, replay.topics)
    # A partition added since the replay counts from 0; a log shorter than the history (a
    # topic deleted and created anew) is not "behind" and is the verifier's to judge.
    missing = {
        tp: replay.ends.get(tp, 0) for tp, end in now.items() if end > replay.ends.get(tp, 0)
    }
    events = sum(now[tp] - start for tp, start in missing.items())
    stamps = await timestamps_at(bootstrap, missing) if missing else {}
    since = datetime.fromtimestamp(min(stamps.values()) / 1000, UTC) if stamps else None
    return Lag(path, replay, events, since)
