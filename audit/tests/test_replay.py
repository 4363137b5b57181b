"""`rse-audit replay`, `as-of` and `report` on the real Kafka."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from rse_audit.history import as_of
from rse_audit.replay import replay
from rse_audit.report import write_report
from rse_shared.contracts import (
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    IntegrationEvent,
    RecordAccessed,
)
from rse_shared.settings import ServiceSettings
from rse_shared.testing import FhirValidator, create_topic, publish

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CITIZEN = uuid.uuid4()
_position = iter(range(1, 1_000_000))


def envelope(producer: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": at,
        "producer": producer,
        "citizen_id": CITIZEN,
        "source_position": next(_position),
    }


def granted(consent_id: uuid.UUID, at: datetime, until: datetime | None) -> ConsentGranted:
    return ConsentGranted(
        **envelope("consent", at),
        consent_id=consent_id,
        grantee_kind="professional",
        grantee_id="P-1",
        categories=("vaccinations",),
        purpose="treatment",
        valid_from=at,
        valid_until=until,
    )


def accessed(
    at: datetime, decision: str, consent_id: uuid.UUID | None, reason: str | None = None
) -> RecordAccessed:
    return RecordAccessed(
        **envelope("records", at),
        access_id=uuid.uuid4(),
        practitioner_id="P-1",
        role="professional",
        health_unit="USF Tejo",
        categories=("vaccinations",),
        purpose="treatment",
        emergency_reason=reason,
        decision=decision,  # type: ignore[arg-type]
        consent_id=consent_id,
        accessed_at=at,
    )


@pytest.fixture(scope="module")
async def history(infra: ServiceSettings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grant revoked on day 10, a grant that expired on day 20, and four accesses."""
    revoked_one, expiring_one = uuid.uuid4(), uuid.uuid4()
    consent_events: list[IntegrationEvent] = [
        granted(revoked_one, T0, None),
        ConsentRevoked(
            **envelope("consent", T0 + timedelta(days=10)),
            consent_id=revoked_one,
            revoked_at=T0 + timedelta(days=10),
        ),
        granted(expiring_one, T0 + timedelta(days=5), T0 + timedelta(days=20)),
        ConsentExpired(
            **envelope("consent", T0 + timedelta(days=20)),
            consent_id=expiring_one,
            expired_at=T0 + timedelta(days=20),
        ),
    ]
    record_events: list[IntegrationEvent] = [
        accessed(T0 + timedelta(days=1), "permit", revoked_one),
        accessed(T0 + timedelta(days=11), "permit", expiring_one),
        accessed(T0 + timedelta(days=21), "deny", None),
        accessed(T0 + timedelta(days=22), "emergency", None, reason="unconscious in A&E"),
    ]
    consent_topic = await create_topic(infra.kafka_bootstrap, "consent")
    records_topic = await create_topic(infra.kafka_bootstrap, "records")
    await publish(infra.kafka_bootstrap, consent_topic, *consent_events, consent_events[0])
    await publish(infra.kafka_bootstrap, records_topic, *record_events)
    path = tmp_path_factory.mktemp("audit") / "history.sqlite"
    assert await replay(infra.kafka_bootstrap, [consent_topic, records_topic], path) == 9
    return path


def authorised(path: Path, days: float) -> list[str]:
    with sqlite3.connect(path) as db:
        answer = as_of(db, str(CITIZEN), (T0 + timedelta(days=days)).isoformat())
    return [c["grantee_id"] + "@" + c["valid_from"][:10] for c in answer.consents]


async def test_as_of_answers_across_a_grant_a_revoke_and_an_expiry(history: Path) -> None:
    assert authorised(history, -1) == []
    assert authorised(history, 1) == ["P-1@2026-03-01"]
    assert authorised(history, 6) == ["P-1@2026-03-01", "P-1@2026-03-06"]
    assert authorised(history, 10) == ["P-1@2026-03-06"]  # revoked at day 10 exactly
    assert authorised(history, 19.9) == ["P-1@2026-03-06"]
    assert authorised(history, 20) == []  # expired at day 20 exactly


async def test_as_of_lists_the_accesses_made_by_then(history: Path) -> None:
    with sqlite3.connect(history) as db:
        answer = as_of(db, str(CITIZEN), (T0 + timedelta(days=21, hours=1)).isoformat())
    assert [a["decision"] for a in answer.accesses] == ["permit", "permit", "deny"]


async def test_a_re_published_event_is_replayed_once(history: Path) -> None:
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM consents").fetchone()[0] == 2


async def test_the_report_has_metadata_only_and_valid_fhir(
    history: Path, tmp_path: Path, fhir_validator: FhirValidator
) -> None:
    with sqlite3.connect(history) as db:
        files = write_report(db, tmp_path / "report", citizen_id=str(CITIZEN))
    names = {p.name for p in files}
    assert {"report.html", "accesses.jsonl", "audit-events.fhir.json"} <= names
    page = (tmp_path / "report" / "report.html").read_text()
    assert "P-1" in page and "emergency" in page
    exported = [json.loads(p.read_text()) for p in files if p.name.endswith(".fhir.json")]
    assert len(exported) == 2 and fhir_validator.errors(*exported) == []
    bundle = Bundle.model_validate(
        json.loads((tmp_path / "report" / "audit-events.fhir.json").read_text())
    )
    events = [e.resource for e in bundle.entry]
    assert len(events) == 4 and {e.type.code for e in events} == {"110110"}
    emergency = [e for e in events if "110127" in {s.code for s in e.subtype}]
    assert len(emergency) == 1
    assert [s.code for s in emergency[0].subtype] == ["read", "110127"]
    assert {c.code for p in emergency[0].purposeOfEvent for c in p.coding} == {"BTG", "ETREAT"}
    lines = (tmp_path / "report" / "accesses.jsonl").read_text().splitlines()
    assert len(lines) == 4
    consents = Bundle.model_validate(
        json.loads((tmp_path / "report" / "consents.fhir.json").read_text())
    )
    assert sorted(e.resource.status for e in consents.entry) == ["inactive", "inactive"]
    assert not any(word in page.lower() for word in ("vaccine", "diagnos", "dose"))


async def test_a_report_with_nothing_in_it_exports_valid_bundles_without_entries(
    history: Path, tmp_path: Path, fhir_validator: FhirValidator
) -> None:
    with sqlite3.connect(history) as db:
        files = write_report(db, tmp_path / "none", citizen_id=str(uuid.uuid4()))
    exported = [json.loads(p.read_text()) for p in files if p.name.endswith(".fhir.json")]
    assert [b.get("entry") for b in exported] == [None, None]
    assert fhir_validator.errors(*exported) == []
