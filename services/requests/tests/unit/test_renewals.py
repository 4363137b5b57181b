import uuid
from datetime import date, timedelta

import pytest

from rse_requests.application import RequestsApplication
from rse_requests.domain.patient import (
    MedicationNotOnSummary,
    NoFamilyDoctor,
    RenewalAlreadyPending,
)
from rse_requests.domain.renewal import (
    InvalidRenewalDecision,
    NotTheAddressedDoctor,
    RenewalNotPending,
)

from .conftest import DOCTOR, World

VALID = date(2027, 5, 31)


def test_a_renewal_is_addressed_to_the_current_family_doctor(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1", "M2"))
    renewal = app.request_renewal(citizen, ["M1", "M2"])
    assert renewal.status == "pending"
    assert (renewal.practitioner_id, renewal.health_unit) == DOCTOR
    assert [m["name"] for m in renewal.medications] == ["drug M1", "drug M2"]


def test_only_medications_on_the_health_summary_can_be_renewed(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1",))
    with pytest.raises(MedicationNotOnSummary):
        app.request_renewal(citizen, ["M1", "M9"])
    assert app.patient(citizen).pending_renewals == {}


def test_the_summary_is_the_latest_one_records_published(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1",))
    world.summary(citizen, "M2")
    with pytest.raises(MedicationNotOnSummary):
        app.request_renewal(citizen, ["M1"])
    assert app.request_renewal(citizen, ["M2"]).status == "pending"


def test_a_medication_already_waiting_for_a_decision_is_not_asked_twice(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1", "M2"))
    app.request_renewal(citizen, ["M1"])
    with pytest.raises(RenewalAlreadyPending):
        app.request_renewal(citizen, ["M2", "M1"])
    app.request_renewal(citizen, ["M2"])


def test_without_a_family_doctor_there_is_nobody_to_ask(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(doctor=None, medications=("M1",))
    with pytest.raises(NoFamilyDoctor):
        app.request_renewal(citizen, ["M1"])


def test_only_the_addressed_doctor_decides(app: RequestsApplication, world: World) -> None:
    citizen = world.citizen(medications=("M1",))
    renewal = app.request_renewal(citizen, ["M1"])
    with pytest.raises(NotTheAddressedDoctor):
        app.approve_renewal("P-999", renewal.id, {"M1": 2}, VALID)
    with pytest.raises(NotTheAddressedDoctor):
        app.reject_renewal("P-999", renewal.id, "not mine")
    assert app.renewal(renewal.id).status == "pending"


def test_the_doctor_approves_packs_per_item_until_a_validity_date(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1", "M2"))
    renewal = app.request_renewal(citizen, ["M1", "M2"])
    approved = app.approve_renewal(DOCTOR[0], renewal.id, {"M1": 2}, VALID)
    assert approved.status == "approved" and approved.valid_until == VALID
    assert approved.items == [
        {"medication_id": "M1", "name": "drug M1", "dosage": "1/day", "packs": 2}
    ]
    assert app.patient(citizen).pending_renewals == {}
    with pytest.raises(RenewalNotPending):
        app.reject_renewal(DOCTOR[0], renewal.id, "changed my mind")


def test_an_approval_must_name_requested_items_and_a_validity_within_bounds(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1", "M2"))
    renewal = app.request_renewal(citizen, ["M1"])
    today = app.today()
    for packs, valid_until in [
        ({"M2": 1}, VALID),
        ({}, VALID),
        ({"M1": 1}, today),
        ({"M1": 1}, today + timedelta(days=366)),
    ]:
        with pytest.raises(InvalidRenewalDecision):
            app.approve_renewal(DOCTOR[0], renewal.id, packs, valid_until)


def test_a_rejection_keeps_its_reason(app: RequestsApplication, world: World) -> None:
    citizen = world.citizen(medications=("M1",))
    renewal = app.request_renewal(citizen, ["M1"])
    rejected = app.reject_renewal(DOCTOR[0], renewal.id, "needs a consultation first")
    assert rejected.status == "rejected" and rejected.reason == "needs a consultation first"


def test_the_prescription_records_issued_closes_an_approved_request(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1",))
    renewal = app.request_renewal(citizen, ["M1"])
    app.approve_renewal(DOCTOR[0], renewal.id, {"M1": 2}, VALID)
    prescription_id = world.prescribe(citizen, renewal.id)
    prescribed = app.renewal(renewal.id)
    assert prescribed.status == "prescribed"
    assert prescribed.prescription == (prescription_id, "PT-0001")


def test_a_prescription_for_another_citizen_or_a_pending_request_changes_nothing(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen, stranger = world.citizen(medications=("M1",)), world.citizen()
    renewal = app.request_renewal(citizen, ["M1"])
    world.prescribe(citizen, renewal.id)
    assert app.renewal(renewal.id).status == "pending"
    app.approve_renewal(DOCTOR[0], renewal.id, {"M1": 2}, VALID)
    world.prescribe(stranger, renewal.id)
    world.prescribe(citizen, uuid.uuid4())
    assert app.renewal(renewal.id).status == "approved"
