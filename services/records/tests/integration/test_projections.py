"""Records' read models rebuilt from the log equal the live ones; re-applying changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from rse_records.application import Dose, Plan, Reader, Writer
from rse_records.bootstrap import bootstrap
from rse_records.config import Settings
from rse_records.domain.health_record import PrescriptionLine
from rse_records.prescription_codes import opened_codes
from rse_shared.contracts import ConsentGranted, ConsentRevoked, FamilyDoctorAssigned
from rse_shared.eventstore import keyring_of
from rse_shared.service import Service
from rse_shared.testing import TokenMint, a_registration

pytestmark = pytest.mark.integration


@pytest.fixture
async def idle_records(
    settings: Settings, fresh_topic: str, mint: TokenMint
) -> AsyncIterator[Service]:
    """Records without its background workers: the test drives the projectors."""
    service = bootstrap(settings, topic=fresh_topic, consumes=[], verifier=mint.verifier())
    yield service
    await service.close()


def consent_event(citizen: uuid.UUID, position: int, cls: type[Any], **payload: Any) -> Any:
    return cls(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        producer="consent",
        citizen_id=citizen,
        source_position=position,
        **payload,
    )


def fill(service: Service) -> uuid.UUID:
    app = service.app
    registration = a_registration()
    app.open_record(registration.citizen_id, "123456789", "Ana Silva")
    citizen = registration.citizen_id
    app.process_event(
        FamilyDoctorAssigned(
            event_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            producer="identity",
            citizen_id=citizen,
            source_position=2,
            practitioner_id="P-1",
            health_unit="USF Tejo",
        ),
        None,
    )
    doctor = Writer("P-1", "professional", "USF Tejo")
    medication_id = app.add_medication(citizen, "Metformina", "500 mg", doctor)
    app.change_medication(citizen, medication_id, "Metformina", "850 mg", doctor)
    app.record_vaccination(citizen, Dose("VASPR", 1, date.today(), "L-1", "USF Tejo"), doctor)
    app.update_care_plan(citizen, Plan(["Peso"], [], "P-1", None), doctor)
    app.issue_prescription(
        citizen,
        lines=[PrescriptionLine("Metformina", "850 mg", 2, medication_id)],
        valid_until=date.today() + timedelta(days=30),
        by=doctor,
    )
    consent_id = grant(service, citizen)
    app.authorise_read(citizen, Reader("P-1", "USF Tejo"), ["vaccinations"], "treatment")
    revoke(service, citizen, consent_id)
    return citizen


def grant(service: Service, citizen: uuid.UUID) -> uuid.UUID:
    consent_id = uuid.uuid4()
    service.app.process_event(
        consent_event(
            citizen,
            1,
            ConsentGranted,
            consent_id=consent_id,
            grantee_kind="professional",
            grantee_id="P-1",
            categories=("vaccinations",),
            purpose="treatment",
            valid_from=datetime.now(UTC) - timedelta(minutes=1),
            valid_until=None,
        ),
        None,
    )
    return consent_id


def revoke(service: Service, citizen: uuid.UUID, consent_id: uuid.UUID) -> None:
    service.app.process_event(
        consent_event(
            citizen, 2, ConsentRevoked, consent_id=consent_id, revoked_at=datetime.now(UTC)
        ),
        None,
    )


async def snapshot(service: Service) -> dict[str, list[dict[str, Any]]]:
    """The read models, with each prescription's codes opened (sealed afresh by a rebuild)."""
    names = ("records", "vaccinations", "prescriptions", "consents", "accesses")
    found = {name: await service.db[name].find().sort("_id").to_list() for name in names}
    for document in found["prescriptions"]:
        assert isinstance(document["codes"], str), "the codes are kept sealed"
        document["codes"] = opened_codes(keyring_of(service.app), document)
    return found


async def test_dropped_projections_rebuilt_from_the_log_equal_the_live_ones(
    idle_records: Service,
) -> None:
    fill(idle_records)
    fill(idle_records)
    for projector in idle_records.projectors.values():
        await projector.run_once()
        await projector.run_once()  # re-running applies nothing twice
    live = await snapshot(idle_records)
    last = idle_records.app.recorder.max_notification_id()
    for projector in idle_records.projectors.values():
        assert await projector.rebuild() == last
    assert await snapshot(idle_records) == live
    # Each fill: five writes and one read, every one an access in the citizen's history.
    assert [len(docs) for docs in live.values()] == [2, 2, 2, 2, 12]
    assert all(c["revoked"] for c in live["consents"])


async def test_re_applying_an_old_event_changes_nothing(idle_records: Service) -> None:
    citizen = fill(idle_records)
    runner = idle_records.projectors["health_records"]
    await runner.run_once()
    before = await snapshot(idle_records)
    for notification in idle_records.app.recorder.select_notifications(1, 100):
        event = idle_records.app.mapper.to_domain_event(notification)
        await runner.projection.apply(event, notification.id, idle_records.db)
    assert await snapshot(idle_records) == before
    record = before["records"][0]
    assert record["_id"] == str(citizen)
    assert record["health_summary"]["chronic_medications"][0]["dosage"] == "850 mg"


async def test_a_revocation_the_directory_has_not_seen_yet_already_hides_the_patient(
    idle_records: Service,
    mint: TokenMint,
) -> None:
    citizen = a_registration().citizen_id
    consent_id = grant(idle_records, citizen)
    await idle_records.projectors["consent_directory"].run_once()
    transport = httpx.ASGITransport(app=idle_records.api)
    doctor = mint.professional("P-1", "USF Tejo")
    async with httpx.AsyncClient(transport=transport, base_url="http://records") as client:
        before = (await client.get("/professionals/me/patients", headers=doctor)).json()
        revoke(idle_records, citizen, consent_id)  # not projected: the directory still has it
        after = (await client.get("/professionals/me/patients", headers=doctor)).json()
    assert [p["citizen_id"] for p in before] == [str(citizen)]
    assert after == []
