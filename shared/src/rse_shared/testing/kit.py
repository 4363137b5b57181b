"""The test kit of a service: its test settings, fresh topics for what it publishes and
consumes, the service running on them, and the other services' events fed to it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.persistence import Tracking

from rse_shared import topics as topology
from rse_shared.clock import utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import IntegrationEvent
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing.kafka import events_of, publish, read_topic
from rse_shared.testing.services import running
from rse_shared.testing.tokens import TokenMint
from rse_shared.testing.waiting import eventually

S = TypeVar("S", bound=ServiceSettings)
E = TypeVar("E", bound=IntegrationEvent)

_offsets = itertools.count(1)


def feed(app: ConsumerApplication, event: IntegrationEvent, topic: str | None = None) -> None:
    """Hand `event` straight to `app`, as its consumer would, at the next offset of `topic`
    (by default its producer's events topic)."""
    name = topic or topology.events_topic(event.producer)
    app.receive(event, Tracking(f"{name}:0", next(_offsets)))


@dataclass
class Envelopes:
    """Envelope fields of the events other services would publish: each producer's events
    about one citizen carry rising source positions, as its relay's would."""

    positions: dict[tuple[str, uuid.UUID], int] = field(default_factory=lambda: defaultdict(int))

    def next_position(self, producer: str, citizen_id: uuid.UUID) -> int:
        self.positions[producer, citizen_id] += 1
        return self.positions[producer, citizen_id]

    def envelope(self, producer: str, citizen_id: uuid.UUID) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4(),
            "occurred_at": utcnow(),
            "producer": producer,
            "citizen_id": citizen_id,
            "source_position": self.next_position(producer, citizen_id),
        }


class Upstream(Envelopes):
    """The fresh topics of a service under test: what other services would produce onto
    them, and what the service published on its own."""

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.topics = topics

    async def publish(self, producer: str, *events: IntegrationEvent) -> None:
        """Produce `events` onto the fresh topic standing for `producer`'s events topic."""
        await publish(self.bootstrap, self.topics[producer], *events)

    async def read(self, producer: str, event_type: type[E]) -> list[E]:
        records = await read_topic(self.bootstrap, self.topics[producer], timeout=15)
        return [e for e in events_of(records) if isinstance(e, event_type)]

    async def published(
        self,
        producer: str,
        event_type: type[E],
        count: int = 1,
        *,
        settle: float = 0.5,
        timeout: float = 30.0,
    ) -> list[E]:
        """The events of a type on `producer`'s topic once there are `count`; after `settle`
        seconds read again, so that anything beyond `count` would have been relayed."""

        async def probe() -> tuple[list[E]] | None:
            found = await self.read(producer, event_type)
            return (found,) if len(found) >= count else None  # a tuple: truthy even if empty

        (found,) = await eventually(probe, timeout=timeout)
        if not settle:
            return found
        await asyncio.sleep(settle)
        return await self.read(producer, event_type)


@dataclass
class Kit:
    """A service on the real servers with a database, read models and topics of its own."""

    infra: ServiceSettings
    database: str
    mongo: str
    new_topic: Callable[[str], Awaitable[str]]
    mint: TokenMint

    def settings(self, cls: type[S], **overrides: Any) -> S:
        """The service's test settings: its own databases and group, a fast relay."""
        values: dict[str, Any] = {
            "environment": "test",
            "postgres_db": self.database,
            "mongo_db": self.mongo,
            "consumer_group": self.database,
            "relay_poll_interval": 0.05,
        }
        return cls(**{**values, **overrides})

    async def topics(self, service: str) -> dict[str, str]:
        """A fresh topic for `service`'s events and for each events topic it consumes,
        named by producer (`{"consent": ..., "records": ...}`)."""
        producers = (service, *(topology.owner_of(t) or t for t in topology.consumed_by(service)))
        return {name: await self.new_topic(name) for name in producers}

    @contextlib.asynccontextmanager
    async def serve(
        self,
        bootstrap: Callable[..., Service],
        settings: ServiceSettings,
        topics: dict[str, str],
        **kwargs: Any,
    ) -> AsyncIterator[Service]:
        """The service built by `bootstrap` on the fresh topics, running until the test ends."""
        service = settings.service_name
        consumes = [topics[topology.owner_of(t) or t] for t in topology.consumed_by(service)]
        if consumes:
            kwargs["consumes"] = consumes
        async with running(bootstrap(settings, topic=topics[service], **kwargs)) as started:
            yield started

    def upstream(self, topics: dict[str, str]) -> Upstream:
        return Upstream(self.infra.kafka_bootstrap, topics)
