"""The same event delivered twice, and a citizen's events out of order across partitions.

Invariant: a duplicate (the same event again at a new offset, or on another partition)
changes neither the consumer's state nor its projections; an older event arriving after
a newer one of the same citizen is not applied over it: state never moves backwards.
Here the consumer is the records service, fed identity's and consent's events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rse_records.bootstrap import bootstrap
from rse_records.config import Settings
from rse_shared.contracts import ConsentGranted, ConsentRevoked
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    TokenMint,
    a_registration,
    asgi_client,
    eventually,
    publish,
    running,
)
from tests.e2e.conftest import servers_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def records(
    infra: ServiceSettings,
    fresh_database: str,
    fresh_mongo: str,
    new_topic: Callable[[str], Awaitable[str]],
    mint: TokenMint,
) -> AsyncIterator[tuple[Service, dict[str, str]]]:
    topics = {name: await new_topic(name) for name in ("identity", "consent", "records")}
    settings = Settings(
        environment="test",
        postgres_db=fresh_database,
        mongo_db=fresh_mongo,
        relay_poll_interval=0.05,
        **servers_of(infra),
    )
    service = bootstrap(
        settings,
        topic=topics["records"],
        consumes=[topics["identity"], topics["consent"]],
        verifier=mint.verifier(),
    )
    async with running(service):
        yield service, topics


async def record_shown(service: Service, citizen: uuid.UUID) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await service.db.records.find_one({"_id": str(citizen)})
        return doc

    return await eventually(probe)


async def test_a_duplicate_changes_neither_state_nor_projection(
    records: tuple[Service, dict[str, str]],
) -> None:
    service, topics = records
    bootstrap_ = service.settings.kafka_bootstrap
    citizen = uuid.uuid4()
    registered = a_registration(citizen)
    await publish(bootstrap_, topics["identity"], registered, partition=0)
    shown = await record_shown(service, citizen)
    version = await in_thread(lambda: service.app.record(citizen).version)
    events_before = await in_thread(service.app.recorder.max_notification_id)

    # Again on the same partition (a redelivery), and on another (a re-publication);
    # then a marker on each partition, whose effect shows the duplicates were consumed.
    markers = [a_registration() for _ in range(2)]
    await publish(bootstrap_, topics["identity"], registered, markers[0], partition=0)
    await publish(bootstrap_, topics["identity"], registered, markers[1], partition=1)
    for marker in markers:
        await record_shown(service, marker.citizen_id)

    assert await in_thread(lambda: service.app.record(citizen).version) == version
    assert await service.db.records.find_one({"_id": str(citizen)}) == shown
    # The only new events are the two markers' records (and their inboxes).
    new_events = await in_thread(
        service.app.recorder.select_notifications, start=(events_before or 0) + 1, limit=100
    )
    touched = {n.originator_id for n in new_events}
    assert service.app.record(citizen).id not in touched


async def test_an_older_event_arriving_after_a_newer_one_does_not_move_state_back(
    records: tuple[Service, dict[str, str]], mint: TokenMint
) -> None:
    service, topics = records
    bootstrap_ = service.settings.kafka_bootstrap
    citizen = uuid.uuid4()
    await publish(bootstrap_, topics["identity"], a_registration(citizen), partition=0)
    await record_shown(service, citizen)
    consent = uuid.uuid4()
    now = datetime.now(UTC)
    common: dict[str, Any] = {
        "occurred_at": now,
        "producer": "consent",
        "citizen_id": citizen,
        "consent_id": consent,
    }
    granted = ConsentGranted(
        **common,
        event_id=uuid.uuid4(),
        source_position=1,
        grantee_kind="professional",
        grantee_id="P-order",
        categories=("health_summary",),
        purpose="treatment",
        valid_from=now - timedelta(minutes=1),
        valid_until=None,
    )
    revoked = ConsentRevoked(**common, event_id=uuid.uuid4(), source_position=2, revoked_at=now)
    doctor = mint.professional("P-order", "USF Ordem")

    async with asgi_client(service) as http:

        async def read() -> int:
            answer: httpx.Response = await http.get(
                f"/records/{citizen}/health-summary", headers=doctor
            )
            return answer.status_code

        # The revocation is delivered first (partition 2), the grant after it (partition 0).
        await publish(bootstrap_, topics["consent"], revoked, partition=2)

        def revocation_applied() -> bool:
            register = service.app.consent_register(citizen)
            return register is not None and consent in register.ended

        await eventually(lambda: in_thread(revocation_applied))
        version = await in_thread(lambda: service.app.consent_register(citizen).version)

        marker = a_registration()
        await publish(bootstrap_, topics["consent"], granted, partition=0)
        await publish(bootstrap_, topics["identity"], marker, partition=0)
        await record_shown(service, marker.citizen_id)
        # Make sure the grant was consumed: a later grant of the same citizen on the same
        # partition is applied, so everything before it on that partition was handled.
        later = granted.model_copy(
            update={
                "event_id": uuid.uuid4(),
                "source_position": 3,
                "consent_id": uuid.uuid4(),
                "grantee_id": "P-later",
            }
        )
        await publish(bootstrap_, topics["consent"], later, partition=0)

        def later_applied() -> bool:
            register = service.app.consent_register(citizen)
            return register is not None and register.version > version

        await eventually(lambda: in_thread(later_applied))

        register = await in_thread(service.app.consent_register, citizen)
        assert register is not None
        assert register.version == version + 1  # only the later grant was added
        assert consent in register.ended
        assert await read() == 403  # the stale grant did not bring the access back
        assert (
            await http.get(
                f"/records/{citizen}/health-summary",
                headers=mint.professional("P-later", "USF Ordem"),
            )
        ).status_code == 200
