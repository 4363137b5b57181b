"""The batched consumer on the real Kafka and PostgreSQL: many messages per transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, event

from rse_shared.consumer_application import ConsumerApplication
from rse_shared.consumer_store import ConsumerState
from rse_shared.contracts import CitizenRegistered, IntegrationEvent
from rse_shared.eventstore import natural_id
from rse_shared.idempotent_consumer import dlq_topic
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    RegistrationTally,
    a_registration,
    documents,
    eventually,
    feeding,
    publish,
    read_topic,
)

pytestmark = pytest.mark.integration


class Seen(Aggregate):
    """The source positions applied for one citizen, in the order they were applied."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("seen", str(citizen_id))

    @event("Started")
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.positions: list[int] = []

    @event("Noted")
    def note(self, position: int) -> None:
        self.positions.append(position)


class Ordering(ConsumerApplication):
    """Notes every registration's position; counts the transactions and their sizes."""

    name = "ordering"

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env=env)
        self.batches: list[int] = []

    def apply(
        self,
        events: Sequence[IntegrationEvent],
        state: ConsumerState,
        traceparents: Sequence[str | None] = (),
    ) -> None:
        super().apply(events, state, traceparents)
        self.batches.append(len(events))

    def handle(self, domain_event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        if not isinstance(domain_event, CitizenRegistered):
            return
        try:
            seen: Seen = self.repository.get(Seen.create_id(domain_event.citizen_id))
        except AggregateNotFoundError:
            seen = Seen(domain_event.citizen_id)
        seen.note(domain_event.source_position)
        processing_event.collect_events(seen)

    def positions(self, citizen_id: uuid.UUID) -> list[int]:
        try:
            seen: Seen = self.repository.get(Seen.create_id(citizen_id))
        except AggregateNotFoundError:
            return []
        return seen.positions


async def test_a_batch_applies_each_message_once_in_per_citizen_order(
    settings: ServiceSettings,
    fresh_topic: str,
) -> None:
    citizens = [uuid.uuid4() for _ in range(20)]
    events = [a_registration(c, position=p) for p in range(1, 16) for c in citizens]
    await publish(settings.kafka_bootstrap, fresh_topic, *events)  # 300, before the consumer
    app = Ordering(env=settings.eventstore_env())
    try:
        async with feeding(
            settings.kafka_bootstrap, app, [fresh_topic], owners={fresh_topic: "identity"}
        ):

            async def all_applied() -> bool:
                done = await asyncio.to_thread(lambda: [app.positions(c) for c in citizens])
                return all(len(p) == 15 for p in done)

            await eventually(all_applied)
            await asyncio.sleep(0.5)
        for citizen in citizens:
            assert app.positions(citizen) == list(range(1, 16))
        assert max(app.batches) > 1, "every message had a transaction of its own"
        assert sum(app.batches) == 300
    finally:
        app.close()


async def test_a_failing_batch_falls_back_to_one_message_at_a_time(
    settings: ServiceSettings,
    tally: RegistrationTally,
    fresh_topic: str,
) -> None:
    citizens = [uuid.uuid4() for _ in range(10)]
    poisoned = citizens[4]
    events = [
        a_registration(c, position=1, full_name="Poison" if c == poisoned else "Ana")
        for c in citizens
    ]
    events += [a_registration(c, position=2) for c in citizens]
    await publish(settings.kafka_bootstrap, fresh_topic, *events)
    async with feeding(
        settings.kafka_bootstrap, tally, [fresh_topic], owners={fresh_topic: "identity"}
    ) as consumer:

        async def all_counted() -> bool:
            counts = await asyncio.to_thread(lambda: [tally.count(c) for c in citizens])
            return counts == [1 if c == poisoned else 2 for c in citizens]

        await eventually(all_counted)
        [dead] = documents(
            await read_topic(
                settings.kafka_bootstrap,
                dlq_topic(consumer.group_id, fresh_topic),
                expect=1,
                timeout=10,
            )
        )
    assert "cannot count poison" in dead["error"] and dead["attempts"] == 3
    await asyncio.sleep(0.5)
    assert [tally.count(c) for c in citizens] == [1 if c == poisoned else 2 for c in citizens]


async def test_a_restarted_consumer_remembers_the_chain_heads(
    settings: ServiceSettings,
    fresh_topic: str,
) -> None:
    citizen = uuid.uuid4()
    group = f"g-{uuid.uuid4().hex[:8]}"
    first = RegistrationTally(env=settings.eventstore_env())
    async with feeding(
        settings.kafka_bootstrap,
        first,
        [fresh_topic],
        group_id=group,
        owners={fresh_topic: "identity"},
    ):
        await publish(settings.kafka_bootstrap, fresh_topic, a_registration(citizen, 1))
        await eventually(lambda: asyncio.to_thread(first.count, citizen))
    first.close()
    # A chain of its own, starting again at GENESIS: new to a consumer that forgot its heads.
    restart = a_registration(citizen, 2)
    await publish(settings.kafka_bootstrap, fresh_topic, restart, chained=False)
    again = RegistrationTally(env=settings.eventstore_env())
    try:
        async with feeding(
            settings.kafka_bootstrap,
            again,
            [fresh_topic],
            group_id=group,
            owners={fresh_topic: "identity"},
        ):
            [dead] = documents(
                await read_topic(
                    settings.kafka_bootstrap, dlq_topic(group, fresh_topic), expect=1, timeout=15
                )
            )
            await publish(settings.kafka_bootstrap, fresh_topic, a_registration(citizen, 3))

            async def counted() -> bool:
                return await asyncio.to_thread(again.count, citizen) == 2

            await eventually(counted)
        assert dead["error"].startswith("out of chain")
    finally:
        again.close()
