"""Identity's read model of proxy relationships: who acts for whom, and what falls due."""

from __future__ import annotations

from datetime import date
from functools import singledispatchmethod
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from rse_identity.domain.proxy import ProxyRelationship as Rel
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import Day, Document, Instant, stored

OPEN = ["pending", "active"]


class ProxyDocument(Document):
    """One relationship: its parties, kind, scopes, period and status."""

    kind: Literal["legal_guardian", "informal_caregiver", "healthcare_proxy"]
    represented_id: str
    proxy_id: str
    scopes: list[str]
    valid_from: Day
    valid_until: Day | None = None
    status: Literal["pending", "active", "revoked", "ended"]
    by: str
    rentev_reference: str | None = None
    started_at: Instant
    accepted_at: Instant | None = None
    closed_at: Instant | None = None
    closed_because: str | None = None


class ProxyDirectory:
    """One document per proxy relationship."""

    name = "proxy_directory"
    collections: tuple[str, ...] = ("proxies",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.proxies.create_index("represented_id")
        await db.proxies.create_index("proxy_id")
        await db.proxies.create_index("valid_until")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that do not change the directory."""

    @apply.register(Rel.Established)
    @apply.register(Rel.Appointed)
    async def when_relationship_started_enter_it(
        self, event: Rel.Established | Rel.Appointed, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await _set(
            db,
            event,
            position,
            {
                "kind": event.kind,
                "represented_id": str(event.represented_id),
                "proxy_id": str(event.proxy_id),
                "scopes": list(event.scopes),
                "valid_from": event.valid_from,
                "valid_until": event.valid_until,
                "status": "active" if isinstance(event, Rel.Established) else "pending",
                "by": event.by,
                "rentev_reference": getattr(event, "rentev_reference", None),
                "started_at": event.timestamp,
            },
        )

    @apply.register(Rel.Accepted)
    async def when_accepted_put_it_in_force(
        self, event: Rel.Accepted, position: int, db: AsyncDatabase[Any]
    ) -> None:
        await _set(db, event, position, {"status": "active", "accepted_at": event.at})

    @apply.register(Rel.Revoked)
    async def when_revoked_close_it(
        self, event: Rel.Revoked, position: int, db: AsyncDatabase[Any]
    ) -> None:
        closed = {"status": "revoked", "closed_at": event.at, "closed_because": "revoked"}
        await _set(db, event, position, closed)

    @apply.register(Rel.Ended)
    async def when_ended_close_it(
        self, event: Rel.Ended, position: int, db: AsyncDatabase[Any]
    ) -> None:
        closed = {"status": "ended", "closed_at": event.at, "closed_because": event.reason}
        await _set(db, event, position, closed)


async def _set(db: AsyncDatabase[Any], event: Any, position: int, fields: dict[str, Any]) -> None:
    await guarded_upsert(
        db.proxies, {"_id": str(event.originator_id)}, position, {"$set": stored(fields)}
    )


async def represented_by(db: AsyncDatabase[Any], citizen_id: str) -> list[ProxyDocument]:
    """Who acts (or acted) for the citizen, newest first."""
    found = db.proxies.find({"represented_id": citizen_id}).sort("started_at", -1)
    return ProxyDocument.all(await found.to_list())


async def acting_for(db: AsyncDatabase[Any], citizen_id: str) -> list[ProxyDocument]:
    """For whom the citizen acts (or acted), newest first."""
    found = db.proxies.find({"proxy_id": citizen_id}).sort("started_at", -1)
    return ProxyDocument.all(await found.to_list())


async def due_to_end(db: AsyncDatabase[Any], on: date) -> list[str]:
    """Open relationships whose period is over on `on` (a ward's 18th birthday reached)."""
    query = {"status": {"$in": OPEN}, "valid_until": {"$ne": None, "$lte": stored(on)}}
    return [str(doc["_id"]) for doc in await db.proxies.find(query, {"_id": 1}).to_list()]
