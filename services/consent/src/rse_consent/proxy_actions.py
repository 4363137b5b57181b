"""What proxies did for a citizen, for the citizen's history: "by X on behalf of Y".

A collection of its own beside `accesses`: these entries are actions the citizen's proxies
took (bookings, requests, consents), not accesses to the record that an auditor re-derives
from records' events.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_consent.domain.consent import Consent
from rse_consent.domain.proxy_action import ProxyAction
from rse_shared.projection import guarded_upsert
from rse_shared.proxy import acting_of
from rse_shared.readmodel import Document, ExactInstant

NEWEST = [("at.at", -1), ("at.us", -1)]


class ProxyActionEntry(Document):
    """One action a proxy took for the citizen (its id: the event's, or the consent step's)."""

    citizen_id: str
    actor_id: str
    relationship_id: str
    kind: str
    did: str
    entries: list[dict[str, str]]
    at: ExactInstant


class ProxyActions:
    """One document per action a proxy took for a citizen, in any service."""

    name = "proxy_actions"
    collections: tuple[str, ...] = ("proxy_actions",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.proxy_actions.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events of other aggregates are no proxy's actions."""

    @apply.register(ProxyAction.Recorded)
    async def when_proxy_acted_elsewhere_show_it(
        self, event: ProxyAction.Recorded, position: int, db: AsyncDatabase[Any]
    ) -> None:
        entry = ProxyActionEntry(
            id=str(event.event_id),
            citizen_id=str(event.citizen_id),
            actor_id=event.actor_id,
            relationship_id=str(event.relationship_id),
            kind=event.kind,
            did=event.did,
            entries=event.entries,
            at=event.at,
        )
        await _put(db, entry, position)

    @apply.register(Consent.Granted)
    @apply.register(Consent.Revoked)
    async def when_proxy_changed_a_consent_show_it(
        self, event: Consent.Granted | Consent.Revoked, position: int, db: AsyncDatabase[Any]
    ) -> None:
        acting = acting_of(event)
        if acting is None:
            return
        granted = isinstance(event, Consent.Granted)
        entry = ProxyActionEntry(
            id=f"{event.originator_id}:{event.originator_version}",
            citizen_id=str(event.citizen_id),
            actor_id=acting["actor_id"],
            relationship_id=acting["relationship_id"],
            kind=acting["kind"],
            did="ConsentGranted" if granted else "ConsentRevoked",
            entries=[{"id": str(event.originator_id), "kind": "consent"}],
            at=event.timestamp,
        )
        await _put(db, entry, position)


async def _put(db: AsyncDatabase[Any], entry: ProxyActionEntry, position: int) -> None:
    fields = {k: v for k, v in entry.to_mongo().items() if k != "_id"}
    await guarded_upsert(db.proxy_actions, {"_id": entry.id}, position, {"$set": fields})


async def proxy_actions_of(
    db: AsyncDatabase[Any], citizen_id: str, *, limit: int
) -> list[ProxyActionEntry]:
    """The newest `limit` actions proxies took for the citizen."""
    found = db.proxy_actions.find({"citizen_id": citizen_id}).sort(NEWEST).limit(limit)
    return ProxyActionEntry.all(await found.to_list())
