"""Records' use cases on in-memory persistence: consumption, reads, entries, what is published."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from rse_records.access import NoCareRelationship
from rse_records.application import Dose, Plan, Reader, RecordsApplication, Writer
from rse_records.domain.health_record import (
    HealthRecord,
    PrescriptionAlreadyIssued,
    PrescriptionLine,
    RecordAlreadyOpen,
    RecordClosed,
    RecordNotFound,
)
from rse_records.domain.record_access import RecordAccess
from rse_records.published import to_integration_event
from rse_shared.contracts import (
    CitizenDeregistered,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    FamilyDoctorAssigned,
    HealthRecordOpened,
    IntegrationEvent,
    MedicationRenewalDecided,
    PrescriptionIssued,
    RecordAccessed,
    RenewedItem,
)
from rse_shared.testing import ManualClock, a_registration, feed

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DOCTOR = Reader("P-1", "USF Tejo")
FAMILY_DOCTOR = Writer("P-1", "professional", "USF Tejo")
STRANGER = Writer("P-9", "professional", "USF Longe")
EMERGENCY = "unconscious after a road accident, no relatives reachable"


Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def app() -> RecordsApplication:
    return RecordsApplication(clock=Clock(NOW))


def envelope(citizen_id: uuid.UUID, position: int, producer: str = "consent") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": NOW,
        "producer": producer,
        "citizen_id": citizen_id,
        "source_position": position,
    }


def a_citizen(app: RecordsApplication) -> uuid.UUID:
    """A registered citizen whose family doctor is P-1 of USF Tejo."""
    registered = a_registration()
    feed(app, registered)
    feed(app, family_doctor(registered.citizen_id))
    return registered.citizen_id


def family_doctor(citizen_id: uuid.UUID, position: int = 2) -> FamilyDoctorAssigned:
    return FamilyDoctorAssigned(
        **envelope(citizen_id, position, "identity"),
        practitioner_id="P-1",
        health_unit="USF Tejo",
    )


def a_consent(
    app: RecordsApplication,
    citizen_id: uuid.UUID,
    position: int = 1,
    categories: tuple[Any, ...] = ("vaccinations",),
) -> uuid.UUID:
    consent_id = uuid.uuid4()
    feed(
        app,
        ConsentGranted(
            **envelope(citizen_id, position),
            consent_id=consent_id,
            grantee_kind="professional",
            grantee_id="P-1",
            categories=categories,
            purpose="treatment",
            valid_from=NOW - timedelta(days=1),
            valid_until=None,
        ),
    )
    return consent_id


def published(app: RecordsApplication) -> list[IntegrationEvent]:
    notifications = app.recorder.select_notifications(1, 1000)
    events = [to_integration_event(app.mapper.to_domain_event(n), n.id) for n in notifications]
    return [e for e in events if e is not None]


def test_a_registered_citizen_gets_a_record_named_after_them(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    assert app.record(citizen_id).citizen_id == citizen_id
    opened = published(app)
    assert isinstance(opened[0], HealthRecordOpened)
    assert opened[0].citizen_id == citizen_id
    assert opened[0].record_id == HealthRecord.create_id(citizen_id)


def test_a_registration_delivered_twice_opens_one_record(app: RecordsApplication) -> None:
    registered = a_registration()
    feed(app, registered)
    feed(app, registered)  # same event at another offset: a re-publication
    assert app.record(registered.citizen_id).version == 1
    assert len([e for e in published(app) if isinstance(e, HealthRecordOpened)]) == 1


def test_a_second_registration_at_a_new_position_conflicts_rather_than_duplicates(
    app: RecordsApplication,
) -> None:
    registered = a_registration()
    feed(app, registered)
    with pytest.raises(IntegrityError):
        feed(app, registered.model_copy(update={"source_position": 2}))
    with pytest.raises(RecordAlreadyOpen):
        app.open_record(registered.citizen_id, "123456789", "Ana Silva")


def test_a_deregistered_citizens_record_is_closed_to_new_writes(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    feed(
        app,
        CitizenDeregistered(
            **envelope(citizen_id, 3, "identity"), reason="death", effective_date=date(2026, 11, 26)
        ),
    )
    with pytest.raises(RecordClosed):
        app.add_allergy(citizen_id, "Penicilina", FAMILY_DOCTOR)


def test_a_stranger_is_refused_before_the_record_is_looked_for(app: RecordsApplication) -> None:
    with pytest.raises(NoCareRelationship):
        app.add_allergy(uuid.uuid4(), "Penicilina", STRANGER)


def test_an_emergency_entry_for_an_unknown_citizen_finds_no_record(
    app: RecordsApplication,
) -> None:
    with pytest.raises(RecordNotFound):
        app.add_allergy(uuid.uuid4(), "Penicilina", STRANGER, EMERGENCY)


def test_a_consent_lets_its_professional_read_and_the_read_is_recorded(
    app: RecordsApplication,
) -> None:
    citizen_id = a_citizen(app)
    consent_id = a_consent(app, citizen_id)
    decision = app.authorise_read(citizen_id, DOCTOR, ["vaccinations"], "treatment")
    assert (decision.decision, decision.consent_id) == ("permit", consent_id)
    accessed = [e for e in published(app) if isinstance(e, RecordAccessed)]
    assert [
        (e.decision, e.consent_id, e.practitioner_id, e.health_unit, e.categories) for e in accessed
    ] == [("permit", consent_id, "P-1", "USF Tejo", ("vaccinations",))]
    assert accessed[0].accessed_at == NOW and accessed[0].role == "professional"


def test_a_denied_read_is_recorded_too(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    decision = app.authorise_read(citizen_id, DOCTOR, ["prescriptions"], "treatment")
    assert decision.decision == "deny"
    accessed = [e for e in published(app) if isinstance(e, RecordAccessed)]
    assert [(e.decision, e.consent_id) for e in accessed] == [("deny", None)]


def test_once_a_revocation_is_consumed_no_read_relies_on_that_consent(
    app: RecordsApplication,
) -> None:
    citizen_id = a_citizen(app)
    consent_id = a_consent(app, citizen_id, position=1)
    feed(app, ConsentRevoked(**envelope(citizen_id, 2), consent_id=consent_id, revoked_at=NOW))
    assert app.authorise_read(citizen_id, DOCTOR, ["vaccinations"], "treatment").decision == "deny"


def test_an_expiry_ends_the_consent_too(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    consent_id = a_consent(app, citizen_id, position=1)
    feed(app, ConsentExpired(**envelope(citizen_id, 2), consent_id=consent_id, expired_at=NOW))
    assert app.authorise_read(citizen_id, DOCTOR, ["vaccinations"], "treatment").decision == "deny"


def test_an_emergency_read_records_its_reason(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    decision = app.authorise_read(
        citizen_id,
        DOCTOR,
        ["health_summary"],
        "treatment",
        emergency_reason="  unconscious, no relatives  ",
    )
    assert decision.decision == "emergency"
    accessed = next(e for e in published(app) if isinstance(e, RecordAccessed))
    assert accessed.emergency_reason == "unconscious, no relatives"
    assert accessed.decision == "emergency" and accessed.consent_id is None


def test_reads_save_accesses_of_their_own_not_on_the_record(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    for _ in range(3):
        app.authorise_read(citizen_id, DOCTOR, ["vaccinations"], "treatment")
    assert app.record(citizen_id).version == 1
    accesses = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 100)]
    assert sum(isinstance(e, RecordAccess.Recorded) for e in accesses) == 3


def test_prescription_codes_stay_with_the_citizen_never_on_the_wire(
    app: RecordsApplication,
) -> None:
    citizen_id = a_citizen(app)
    medication_id = app.add_medication(citizen_id, "Metformina", "500 mg", FAMILY_DOCTOR)
    issued = app.issue_prescription(
        citizen_id,
        lines=[PrescriptionLine("Metformina", "500 mg", 2, medication_id)],
        valid_until=NOW.date() + timedelta(days=30),
        by=FAMILY_DOCTOR,
    )
    stored = next(
        e
        for e in app.events.get(HealthRecord.create_id(citizen_id))
        if isinstance(e, HealthRecord.PrescriptionIssued)
    )
    assert len(stored.access_code) == 6 and len(stored.choice_code) == 4
    assert not {"access_code", "choice_code"} & set(vars(issued))
    wire = next(e for e in published(app) if isinstance(e, PrescriptionIssued))
    text = json.dumps(wire.to_wire())
    assert "code" not in text.replace("prescription", "")
    assert stored.access_code not in text
    assert wire.items[0].medication_id == medication_id


def test_a_renewal_request_issues_one_prescription(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    renewal = uuid.uuid4()
    lines = [PrescriptionLine("Metformina", "500 mg", 2)]
    valid_until = NOW.date() + timedelta(days=30)
    first = app.issue_prescription(
        citizen_id,
        lines=lines,
        valid_until=valid_until,
        by=FAMILY_DOCTOR,
        renewal_request_id=renewal,
    )
    with pytest.raises(PrescriptionAlreadyIssued):
        app.issue_prescription(
            citizen_id,
            lines=lines,
            valid_until=valid_until,
            by=FAMILY_DOCTOR,
            renewal_request_id=renewal,
        )
    wire = [e for e in published(app) if isinstance(e, PrescriptionIssued)]
    assert [(e.prescription_id, e.renewal_request_id) for e in wire] == [
        (first.prescription_id, renewal)
    ]


def test_consent_registers_and_closings_stay_inside_records(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    a_consent(app, citizen_id)
    feed(
        app,
        CitizenDeregistered(
            **envelope(citizen_id, 3, "identity"),
            reason="emigration",
            effective_date=date(2026, 11, 26),
        ),
    )
    assert [type(e).__name__ for e in published(app)] == ["HealthRecordOpened"]


def test_every_kind_of_entry_is_published(app: RecordsApplication) -> None:
    citizen_id = a_citizen(app)
    app.add_allergy(citizen_id, "Penicilina", FAMILY_DOCTOR)
    app.record_vaccination(
        citizen_id, Dose("Tétano", 1, NOW.date(), "L-1", "USF Tejo"), FAMILY_DOCTOR
    )
    app.update_care_plan(citizen_id, Plan(["HbA1c < 7%"], ["Consulta"], "P-1", None), FAMILY_DOCTOR)
    app.issue_prescription(
        citizen_id,
        lines=[PrescriptionLine("Amoxicilina", "1 g", 1)],
        valid_until=NOW.date(),
        by=FAMILY_DOCTOR,
    )
    # Each entry is published with the write that made it, in the citizen's history.
    assert [type(e).__name__ for e in published(app)] == [
        "HealthRecordOpened",
        "HealthSummaryUpdated",
        "RecordAccessed",
        "VaccinationRecorded",
        "RecordAccessed",
        "CarePlanUpdated",
        "RecordAccessed",
        "PrescriptionIssued",
        "RecordAccessed",
    ]
    assert all(e.citizen_id == citizen_id and e.producer == "records" for e in published(app))


def test_the_views_a_professional_gets_have_no_place_for_codes() -> None:
    from rse_records.api.schemas import PrescriptionCreated, PrescriptionView

    for view in (PrescriptionView, PrescriptionCreated):
        assert not [name for name in view.model_fields if "code" in name]


def test_an_approved_renewal_becomes_an_e_prescription_once() -> None:
    app = RecordsApplication()
    registered = a_registration()
    app.process_event(registered, Tracking("identity.events:0", 1))  # type: ignore[arg-type]
    app.process_event(family_doctor(registered.citizen_id), Tracking("identity.events:0", 2))  # type: ignore[arg-type]
    medication_id = app.add_medication(
        registered.citizen_id, "Metformina", "850 mg 2x/dia", FAMILY_DOCTOR
    )
    request_id = uuid.uuid4()
    decided = MedicationRenewalDecided(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        producer="requests",
        citizen_id=registered.citizen_id,
        source_position=1,
        request_id=request_id,
        decision="approved",
        valid_until=date(2099, 1, 1),
        reason=None,
        practitioner_id="P-1",
        items=(
            RenewedItem(
                medication_id=medication_id, name="Metformina", dosage="850 mg 2x/dia", packs=2
            ),
        ),
    )
    app.process_event(decided, Tracking("requests.events:0", 1))  # type: ignore[arg-type]
    again = decided.model_copy(update={"source_position": 2, "event_id": uuid.uuid4()})
    app.process_event(again, Tracking("requests.events:0", 2))  # type: ignore[arg-type]
    record = app.record(registered.citizen_id)
    assert len(record.prescriptions) == 1
    # The prescription is the family doctor's write in the citizen's history.
    notifications = app.recorder.select_notifications(1, 1000)
    events = [to_integration_event(app.mapper.to_domain_event(n), n.id) for n in notifications]
    [renewed] = [
        e for e in events if isinstance(e, RecordAccessed) and e.categories == ("prescriptions",)
    ]
    assert (renewed.action, renewed.actor_id, renewed.relationship) == (
        "write",
        "P-1",
        "family_doctor",
    )
    assert [e.kind for e in renewed.entries] == ["prescription"]
