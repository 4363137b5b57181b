"""Writes under care relationships, each in the citizen's history; break-the-glass counted
against a daily quota and reviewed (in-memory persistence)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from rse_records.access import NoCareRelationship
from rse_records.application import Dose, Reader, RecordsApplication, Writer
from rse_records.domain.emergency import AlreadyReviewed, EmergencyQuotaExceeded, NotAnEmergency
from rse_records.domain.health_record import DuplicateVaccination, RecordNotFound
from rse_records.published import to_integration_event
from rse_shared.contracts import (
    CitizenDeregistered,
    ConsentGranted,
    EmergencyAccessReviewed,
    FamilyDoctorAssigned,
    IntegrationEvent,
    RecordAccessed,
    ReferralRegistered,
    ReferralStatusChanged,
)
from rse_shared.contracts import (
    EmergencyQuotaExceeded as QuotaExceededEvent,
)
from rse_shared.testing import ManualClock, a_registration, feed

from .test_application import NOW, envelope

DOCTOR = Writer("P-1", "professional", "USF Tejo")
COLLEAGUE = Writer("P-2", "professional", "USF Tejo")
STRANGER = Writer("P-9", "professional", "USF Longe")
HOSPITAL = Writer("S-7", "hospital_staff", hospital="Hospital de Santa Maria")
EMERGENCY = "unconscious after a road accident, no relatives reachable"
DOSE = Dose("Tétano", 1, NOW.date(), "L-1", "USF Tejo")


@pytest.fixture
def app() -> RecordsApplication:
    return RecordsApplication(clock=ManualClock(NOW), emergency_quota=2)


def citizen(app: RecordsApplication, *, with_doctor: bool = True) -> uuid.UUID:
    registered = a_registration()
    feed(app, registered)
    if with_doctor:
        feed(
            app,
            FamilyDoctorAssigned(
                **envelope(registered.citizen_id, 2, "identity"),
                practitioner_id="P-1",
                health_unit="USF Tejo",
            ),
        )
    return registered.citizen_id


def consent(app: RecordsApplication, citizen_id: uuid.UUID, kind: str, grantee: str | None) -> None:
    feed(
        app,
        ConsentGranted(
            **envelope(citizen_id, 1),
            consent_id=uuid.uuid4(),
            grantee_kind=kind,  # type: ignore[arg-type]
            grantee_id=grantee,
            categories=("vaccinations",),
            purpose="treatment",
            valid_from=NOW - timedelta(days=1),
            valid_until=None,
        ),
    )


def referral(app: RecordsApplication, citizen_id: uuid.UUID) -> uuid.UUID:
    referral_id = uuid.uuid4()
    feed(
        app,
        ReferralRegistered(
            **envelope(citizen_id, 1, "requests"),
            referral_id=referral_id,
            specialty="Cardiologia",
            hospital="Hospital de Santa Maria",
            priority="normal",
            registered_on=NOW.date(),
            deadline=NOW.date() + timedelta(days=150),
            practitioner_id="P-1",
        ),
    )
    return referral_id


def published(app: RecordsApplication, kind: type[Any] = RecordAccessed) -> list[Any]:
    notifications = app.recorder.select_notifications(1, 1000)
    events: list[IntegrationEvent | None] = [
        to_integration_event(app.mapper.to_domain_event(n), n.id) for n in notifications
    ]
    return [e for e in events if isinstance(e, kind)]


def test_the_family_doctor_writes_and_the_write_names_entry_and_relationship(
    app: RecordsApplication,
) -> None:
    citizen_id = citizen(app)
    app.add_allergy(citizen_id, "Penicilina", DOCTOR)
    [written] = published(app)
    assert (written.action, written.role, written.actor_id) == ("write", "professional", "P-1")
    assert (written.decision, written.relationship) == ("permit", "family_doctor")
    assert written.categories == ("health_summary",)
    assert [(e.id, e.kind) for e in written.entries] == [("allergies/0", "allergy")]
    assert "Penicilina" not in written.model_dump_json()


def test_a_professional_of_the_citizens_unit_writes_under_the_unit(
    app: RecordsApplication,
) -> None:
    citizen_id = citizen(app)
    app.add_chronic_condition(citizen_id, "Asma", COLLEAGUE)
    assert published(app)[0].relationship == "health_unit"


@pytest.mark.parametrize(
    ("kind", "grantee"), [("professional", "P-9"), ("health_unit", "USF Longe")]
)
def test_a_consent_naming_the_writer_or_their_unit_allows_that_category_only(
    app: RecordsApplication, kind: str, grantee: str
) -> None:
    citizen_id = citizen(app, with_doctor=False)
    consent(app, citizen_id, kind, grantee)
    app.record_vaccination(citizen_id, DOSE, STRANGER)
    assert published(app)[0].relationship == "consent"
    assert published(app)[0].consent_id is not None
    with pytest.raises(NoCareRelationship):
        app.add_allergy(citizen_id, "Penicilina", STRANGER)


def test_an_all_sns_consent_lets_no_one_write(app: RecordsApplication) -> None:
    citizen_id = citizen(app, with_doctor=False)
    consent(app, citizen_id, "all_sns", None)
    with pytest.raises(NoCareRelationship):
        app.record_vaccination(citizen_id, DOSE, STRANGER)


def test_the_hospital_of_an_open_referral_writes_until_it_is_completed(
    app: RecordsApplication,
) -> None:
    citizen_id = citizen(app, with_doctor=False)
    referral_id = referral(app, citizen_id)
    app.add_allergy(citizen_id, "Penicilina", HOSPITAL)
    written = published(app)[0]
    assert (written.relationship, written.role, written.actor_id) == (
        "referral_hospital",
        "hospital_staff",
        "S-7",
    )
    other = Writer("S-8", "hospital_staff", hospital="Hospital de São João")
    with pytest.raises(NoCareRelationship):
        app.add_allergy(citizen_id, "Látex", other)
    feed(
        app,
        ReferralStatusChanged(
            **envelope(citizen_id, 2, "requests"), referral_id=referral_id, status="completed"
        ),
    )
    with pytest.raises(NoCareRelationship):
        app.add_allergy(citizen_id, "Látex", HOSPITAL)


def test_a_stranger_gets_the_same_refusal_for_an_open_a_closed_and_a_missing_record(
    app: RecordsApplication,
) -> None:
    open_record = citizen(app)
    closed = citizen(app)
    feed(
        app,
        CitizenDeregistered(
            **envelope(closed, 3, "identity"), reason="death", effective_date=date(2026, 11, 26)
        ),
    )
    refusals = []
    for citizen_id in (open_record, closed, uuid.uuid4()):
        with pytest.raises(NoCareRelationship) as refused:
            app.add_allergy(citizen_id, "Penicilina", STRANGER)
        refusals.append(str(refused.value))
    assert len(set(refusals)) == 1
    assert [e.decision for e in published(app)] == ["deny", "deny", "deny"]


def test_an_emergency_write_needs_the_record_and_is_flagged(app: RecordsApplication) -> None:
    citizen_id = citizen(app, with_doctor=False)
    app.add_allergy(citizen_id, "Penicilina", STRANGER, EMERGENCY)
    written = published(app)[0]
    assert (written.decision, written.relationship) == ("emergency", "emergency")
    assert written.emergency_reason == EMERGENCY
    with pytest.raises(RecordNotFound):
        app.add_allergy(uuid.uuid4(), "Penicilina", STRANGER, EMERGENCY)


def test_a_dose_already_given_is_named_only_to_who_may_read_the_bulletin(
    app: RecordsApplication,
) -> None:
    citizen_id = citizen(app)
    first = app.record_vaccination(citizen_id, DOSE, DOCTOR)
    # The family doctor may write but not read vaccinations: no 409 to tell them the dose.
    again = app.record_vaccination(citizen_id, DOSE, DOCTOR)
    assert again == first
    assert app.record(citizen_id).doses == {("tétano", 1): first}
    consent(app, citizen_id, "professional", "P-1")
    with pytest.raises(DuplicateVaccination):
        app.record_vaccination(citizen_id, DOSE, DOCTOR)


def test_reads_name_the_entries_they_returned_and_refusals_none(
    app: RecordsApplication,
) -> None:
    citizen_id = citizen(app, with_doctor=False)
    shown = [{"id": "v-1", "kind": "vaccination"}]
    reader = Reader("P-9", "USF Longe")
    app.authorise_read(citizen_id, reader, ["vaccinations"], "treatment", entries=shown)
    consent(app, citizen_id, "professional", "P-9")
    app.authorise_read(citizen_id, reader, ["vaccinations"], "treatment", entries=shown)
    denied, permitted = published(app)
    assert (denied.decision, denied.entries) == ("deny", ())
    assert (permitted.decision, [e.id for e in permitted.entries]) == ("permit", ["v-1"])


def test_emergencies_beyond_the_daily_quota_are_refused_and_alerted(
    app: RecordsApplication,
) -> None:
    citizen_id = citizen(app, with_doctor=False)
    reader = Reader("P-9", "USF Longe")
    for _ in range(2):
        app.authorise_read(citizen_id, reader, ["vaccinations"], "treatment", EMERGENCY)
    with pytest.raises(EmergencyQuotaExceeded):
        app.authorise_read(citizen_id, reader, ["vaccinations"], "treatment", EMERGENCY)
    with pytest.raises(EmergencyQuotaExceeded):
        app.add_allergy(citizen_id, "Penicilina", STRANGER, EMERGENCY)
    [alert, _] = published(app, QuotaExceededEvent)
    assert (alert.practitioner_id, alert.quota, alert.day) == ("P-9", 2, NOW.date())
    assert [e.decision for e in published(app)] == ["emergency", "emergency"]
    # Another professional's quota is their own.
    app.authorise_read(citizen_id, Reader("P-8", None), ["vaccinations"], "treatment", EMERGENCY)


def test_an_auditor_reviews_an_emergency_once(app: RecordsApplication) -> None:
    citizen_id = citizen(app, with_doctor=False)
    reader = Reader("P-9", "USF Longe")
    app.authorise_read(citizen_id, reader, ["vaccinations"], "treatment", EMERGENCY)
    access_id = published(app)[0].access_id
    app.review_emergency(access_id, "unjustified", "no emergency that day", "auditor-1")
    [reviewed] = published(app, EmergencyAccessReviewed)
    assert (reviewed.access_id, reviewed.outcome, reviewed.reviewed_by) == (
        access_id,
        "unjustified",
        "auditor-1",
    )
    assert reviewed.citizen_id == citizen_id
    with pytest.raises(AlreadyReviewed):
        app.review_emergency(access_id, "justified", "second thoughts", "auditor-2")


def test_only_emergency_accesses_are_reviewed(app: RecordsApplication) -> None:
    citizen_id = citizen(app, with_doctor=False)
    app.authorise_read(citizen_id, Reader("P-9", None), ["vaccinations"], "treatment")
    denied = published(app)[0].access_id
    for access_id in (denied, uuid.uuid4()):
        with pytest.raises(NotAnEmergency):
            app.review_emergency(access_id, "justified", "a note", "auditor-1")


def test_a_patient_listing_is_an_access_of_each_citizen_listed(app: RecordsApplication) -> None:
    first, second = citizen(app), citizen(app)
    listed = {str(first): frozenset({"vaccinations"}), str(second): frozenset({"care_plan"})}
    app.record_listing(Reader("P-1", "USF Tejo"), listed, "treatment")  # type: ignore[arg-type]
    accesses = published(app)
    assert {(e.citizen_id, e.action, e.categories) for e in accesses} == {
        (first, "list", ("vaccinations",)),
        (second, "list", ("care_plan",)),
    }
