"""`rse-audit compare` re-derives every permit from consent.events alone.

The attacker: an insider who writes a consent into records' own consent register (or a
broken consumer that applied one) to open a record. records then permits the read; the
consent service never published that consent, so the replay names the permit.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rse_audit.permits import (
    DELIVERY_GRACE,
    PERMIT_WITHOUT_CONSENT,
    Consent,
    permits_without_consent,
)
from rse_audit.replay import replay
from rse_shared.contracts import ConsentGranted, ConsentRevoked, IntegrationEvent, RecordAccessed
from rse_shared.settings import ServiceSettings
from rse_shared.testing import create_topic, publish

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
_position = iter(range(1, 1_000_000))


def envelope(producer: str, citizen: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": at,
        "producer": producer,
        "citizen_id": citizen,
        "source_position": next(_position),
    }


def granted(
    citizen: uuid.UUID, consent_id: uuid.UUID, grantee: str = "P-1", until: datetime | None = None
) -> ConsentGranted:
    return ConsentGranted(
        **envelope("consent", citizen, T0),
        consent_id=consent_id,
        grantee_kind="professional",
        grantee_id=grantee,
        categories=("vaccinations",),
        purpose="treatment",
        valid_from=T0,
        valid_until=until,
    )


def permit(
    citizen: uuid.UUID,
    consent_id: uuid.UUID,
    at: datetime,
    *,
    practitioner: str = "P-1",
    categories: tuple[str, ...] = ("vaccinations",),
) -> RecordAccessed:
    return RecordAccessed(
        **envelope("records", citizen, at),
        access_id=uuid.uuid4(),
        practitioner_id=practitioner,
        role="professional",
        health_unit="USF Tejo",
        categories=categories,  # type: ignore[arg-type]
        purpose="treatment",
        emergency_reason=None,
        decision="permit",
        consent_id=consent_id,
        accessed_at=at,
    )


async def test_every_permit_no_published_consent_allowed_is_named(
    infra: ServiceSettings, tmp_path: Path
) -> None:
    ana, rui = uuid.uuid4(), uuid.uuid4()
    real, revoked, inserted = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    day = timedelta(days=1)
    consents: list[IntegrationEvent] = [
        granted(ana, real),
        granted(ana, revoked),
        ConsentRevoked(
            **envelope("consent", ana, T0 + 2 * day), consent_id=revoked, revoked_at=T0 + 2 * day
        ),
    ]
    fine = permit(ana, real, T0 + day)
    reads = {
        "names a consent consent.events never published": permit(ana, inserted, T0 + day),
        "names another citizen's consent": permit(rui, real, T0 + day),
        "the consent does not name this professional or unit": permit(
            ana, real, T0 + day, practitioner="P-2"
        ),
        "the consent does not cover every category read": permit(
            ana, real, T0 + day, categories=("vaccinations", "care_plan")
        ),
        "the consent was not in force at the instant of the read": permit(
            ana, revoked, T0 + 3 * day
        ),
    }
    consent_topic = await create_topic(infra.kafka_bootstrap, "consent")
    records_topic = await create_topic(infra.kafka_bootstrap, "records")
    await publish(infra.kafka_bootstrap, consent_topic, *consents)
    await publish(infra.kafka_bootstrap, records_topic, fine, *reads.values())
    path = tmp_path / "history.sqlite"
    await replay(infra.kafka_bootstrap, [consent_topic, records_topic], path)
    with sqlite3.connect(path) as db:
        found = permits_without_consent(db)
    assert {f.kind for f in found} == {PERMIT_WITHOUT_CONSENT}
    assert {f.key: f.replayed for f in found} == {
        str(event.access_id): reason for reason, event in reads.items()
    }


def test_a_read_just_after_a_revocation_is_delivery_and_later_ones_are_named() -> None:
    ended = T0 + timedelta(days=2)
    consent = Consent("ana", "professional", "P-1", frozenset({"vaccinations"}), T0, None, ended)
    assert consent.in_force_at(ended + DELIVERY_GRACE - timedelta(seconds=1))
    assert not consent.in_force_at(ended + DELIVERY_GRACE)
    assert not consent.in_force_at(ended, grace=timedelta(0))
