"""Batched projection writes: a batch of events is written per collection in a few commands.

While the runner applies a batch, `guarded_upsert` queues its upsert in the batch's `Writes`
(a context variable) instead of sending it; the runner then flushes them in order and only
then saves the checkpoint, so the checkpoint never runs ahead of the documents it covers.
Order is kept per document, which is enough: a projection never reads a read model while
it applies (its guard alone decides).

The first write of a batch to a document that is a plain `$set` goes in one `insert` of
the document the upsert would create (fields in the order an upsert sets them); a document
that already exists refuses it (duplicate key) and that write joins the rest, which go as
ordered `update` commands. An upsert the guard refuses is skipped and the rest go on, as a
single upsert returns False. Any other failure, of an event or of the store, sends the
events back through the runner's one-by-one path, which retries, sets aside or stops as it
always has; what a failed flush had written is refused there by the guard.

FerretDB 1.24 keeps every update's query open until its `update` command ends (one pool
connection each: about 50 updates in flight deadlock it), answers a failed one with
neither `n` nor `nModified` (which pymongo's `bulk_write` cannot parse) and reports index
0 for any write error: so the commands are sent as is, and against FerretDB one update per
command (its inserts are one transaction, and correct about their errors).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

log = logging.getLogger(__name__)

DUPLICATE_KEY = frozenset({11000, 11001})
MOST_UPDATES_PER_COMMAND = 1000

Apply = Callable[[Any, int], Awaitable[None]]
Update = dict[str, Any]

_pending: ContextVar[Writes | None] = ContextVar("projection_writes", default=None)
_updates_per_command: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


class Writes:
    """The guarded upserts of a batch of events, in the order the events made them."""

    def __init__(self) -> None:
        self._upserts: list[tuple[AsyncCollection[Any], Update, Update | None]] = []

    def __len__(self) -> int:
        return len(self._upserts)

    def add(
        self,
        collection: AsyncCollection[Any],
        key: Mapping[str, Any],
        query: Mapping[str, Any],
        update: Mapping[str, Any],
    ) -> None:
        upsert = {"q": query, "u": update, "upsert": True}
        self._upserts.append((collection, upsert, created(key, update)))

    def truncate(self, length: int) -> None:
        del self._upserts[length:]

    async def flush(self) -> None:
        """Send every queued upsert, collection by collection; then forget them."""
        upserts, self._upserts = self._upserts, []
        by_collection: dict[str, tuple[AsyncCollection[Any], list[tuple[Update, Update | None]]]]
        by_collection = {}
        for collection, upsert, document in upserts:
            entry = by_collection.setdefault(collection.full_name, (collection, []))
            entry[1].append((upsert, document))
        for collection, writes in by_collection.values():
            await write_in_order(collection, writes)


def created(key: Mapping[str, Any], update: Mapping[str, Any]) -> Update | None:
    """The document the upsert creates when there is none, if a plain insert can make it."""
    fields = update.get("$set", {})
    if (
        set(key) != {"_id"}
        or set(update) != {"$set"}
        or not isinstance(key["_id"], str)
        or any("." in f or f.startswith("$") or f.isdigit() for f in fields)
    ):
        return None
    # An upsert sets new fields in lexicographic order (MongoDB 5+, FerretDB alike).
    return {"_id": key["_id"], **{f: fields[f] for f in sorted(fields)}}


def pending() -> Writes | None:
    """The batch the runner is applying in this context, if any (else upserts go at once)."""
    return _pending.get()


@contextmanager
def queueing(writes: Writes | None) -> Iterator[None]:
    token = _pending.set(writes)
    try:
        yield
    finally:
        _pending.reset(token)


async def write_in_order(
    collection: AsyncCollection[Any], writes: Sequence[tuple[Update, Update | None]]
) -> None:
    """Insert the documents first written here, then upsert the rest in order."""
    seen: set[str] = set()
    firsts: list[int] = []
    for index, (_, document) in enumerate(writes):
        if document is not None and document["_id"] not in seen:
            firsts.append(index)
        seen.add(str(writes[index][0]["q"].get("_id")))
    refused = await _insert(collection, [writes[i][1] for i in firsts])
    inserted = {index for i, index in enumerate(firsts) if i not in refused}
    await ordered_upserts(
        collection, [upsert for index, (upsert, _) in enumerate(writes) if index not in inserted]
    )


async def _insert(collection: AsyncCollection[Any], documents: Sequence[Any]) -> set[int]:
    """Insert `documents` (each its own `_id`); the indexes of those already there."""
    if not documents:
        return set()
    reply = await _command(
        collection, {"insert": collection.name, "documents": list(documents), "ordered": False}
    )
    errors = reply.get("writeErrors") or []
    if any(e.get("code") not in DUPLICATE_KEY for e in errors) or reply.get("writeConcernError"):
        raise OperationFailure(f"bulk insert into {collection.full_name} failed", details=reply)
    return {int(e["index"]) for e in errors}


async def ordered_upserts(
    collection: AsyncCollection[Any], updates: Sequence[Mapping[str, Any]]
) -> None:
    """Apply `updates` in order, skipping those the guard refuses (a duplicate key)."""
    most = await _most_updates_per_command(collection)
    start, window = 0, most
    while start < len(updates):
        chunk = updates[start : start + window]
        refused = await _update(collection, chunk)
        if refused is None:
            start, window = start + len(chunk), min(window * 2, most)
        elif len(chunk) == 1:
            start += 1  # already applied: skipped, as a single upsert returns False
        else:
            # Those before the reported index are written; the refused one is found alone.
            start, window = start + min(refused, len(chunk) - 1), 1


async def _most_updates_per_command(collection: AsyncCollection[Any]) -> int:
    client = collection.database.client
    if client not in _updates_per_command:
        info = await collection.database.command("buildInfo")
        _updates_per_command[client] = 1 if "ferretdbVersion" in info else MOST_UPDATES_PER_COMMAND
    return _updates_per_command[client]


async def _update(
    collection: AsyncCollection[Any], updates: Sequence[Mapping[str, Any]]
) -> int | None:
    """Send one ordered `update`; the index of its refused upsert, None if all were written."""
    reply = await _command(
        collection, {"update": collection.name, "updates": list(updates), "ordered": True}
    )
    errors = reply.get("writeErrors") or []
    if errors and errors[0].get("code") in DUPLICATE_KEY:
        return int(errors[0].get("index", 0))
    if errors or reply.get("writeConcernError"):
        raise OperationFailure(f"bulk update of {collection.full_name} failed", details=reply)
    return None


async def _command(collection: AsyncCollection[Any], command: dict[str, Any]) -> dict[str, Any]:
    if not collection.write_concern.is_server_default:
        command["writeConcern"] = collection.write_concern.document
    reply: dict[str, Any] = await collection.database.command(
        command, codec_options=collection.codec_options
    )
    return reply


async def apply_batch(events: Sequence[tuple[Any, int]], apply: Apply, alone: Apply) -> None:
    """Apply `events` into one batch of writes and flush it; `alone` is the one-by-one path.

    An event whose `apply` raises is left to `alone` (after the writes of the events before
    it are flushed, to keep the order); so is every event of a flush that fails.
    """
    writes, covered = Writes(), []
    for event, position in events:
        before = len(writes)
        if await _queued(writes, apply, event, position):
            covered.append((event, position))
            continue
        writes.truncate(before)
        await _flush(writes, covered, alone)
        covered = []
        await _alone(alone, event, position)
    await _flush(writes, covered, alone)


async def _queued(writes: Writes, apply: Apply, event: Any, position: int) -> bool:
    with queueing(writes):
        try:
            await apply(event, position)
        except Exception:  # noqa: BLE001 - not hidden: the one-by-one path retries or sets it aside
            return False
    return True


async def _flush(writes: Writes, covered: Sequence[tuple[Any, int]], alone: Apply) -> None:
    try:
        await writes.flush()
    except Exception as failure:  # noqa: BLE001 - the one-by-one path decides, as it always has
        log.warning(
            "bulk write of %d events failed (%s: %s); applying them one by one",
            len(covered),
            type(failure).__name__,
            failure,
        )
        for event, position in covered:
            await _alone(alone, event, position)


async def _alone(alone: Apply, event: Any, position: int) -> None:
    with queueing(None):  # its upserts go at once, each answering for itself
        await alone(event, position)
