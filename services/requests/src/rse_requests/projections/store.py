"""What every requests read model shares: the database, the stored-value convention, lookups."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_shared.readmodel import stored

Db = AsyncDatabase[Any]


def set_stored(fields: dict[str, Any]) -> dict[str, Any]:
    # Days as ISO strings, instants as UTC datetimes: the one read-model convention.
    return {"$set": stored(fields)}


def by_originator(event: Any) -> dict[str, str]:
    """The filter on the document of the aggregate that recorded `event`."""
    return {"_id": str(event.originator_id)}


async def fetch_all(cursor: Any) -> list[Any]:
    """Every document a query's cursor yields."""
    docs: list[Any] = await cursor.to_list()
    return docs
