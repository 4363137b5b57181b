"""The health record's invariants, and the prescription codes' shape."""

import secrets
import uuid
from datetime import date, timedelta

import pytest

from rse_records.domain.health_record import (
    DuplicateVaccination,
    HealthRecord,
    InvalidRecordEntry,
    Medication,
    PrescriptionAlreadyIssued,
    PrescriptionCodes,
    PrescriptionLine,
    RecordClosed,
    UnknownMedication,
)

TODAY = date(2026, 11, 27)
CODES = PrescriptionCodes(access="123456", choice="1234")


def a_record(citizen_id: uuid.UUID | None = None) -> HealthRecord:
    return HealthRecord(citizen_id or uuid.uuid4(), "123456789", "Ana Silva")


def vaccinate(
    record: HealthRecord, dose: int = 1, on: date = TODAY, vaccine: str = "Tetanus"
) -> None:
    record.record_vaccination(uuid.uuid4(), vaccine, dose, on, "L-1", "USF Tejo", "P-1", TODAY)


def prescribe(
    record: HealthRecord,
    lines: list[PrescriptionLine] | None = None,
    valid_until: date = TODAY + timedelta(days=60),
    prescription_id: uuid.UUID | None = None,
) -> None:
    lines = lines if lines is not None else [PrescriptionLine("Metformina", "500 mg", 2)]
    record.issue_prescription(
        prescription_id or uuid.uuid4(), "1" * 19, lines, valid_until, "P-1", CODES, None, TODAY
    )


def test_a_record_id_follows_from_the_citizen_so_a_second_opening_conflicts() -> None:
    citizen_id = uuid.uuid4()
    assert a_record(citizen_id).id == a_record(citizen_id).id == HealthRecord.create_id(citizen_id)


def test_a_medication_keeps_its_id_when_its_dosage_changes() -> None:
    record = a_record()
    record.add_medication(Medication("m1", "Metformina", "500 mg"), "P-1")
    record.change_medication(Medication("m1", "Metformina", "850 mg"), "P-1")
    assert record.medications == {"m1": Medication("m1", "Metformina", "850 mg")}


def test_each_summary_change_carries_the_whole_summary() -> None:
    record = a_record()
    record.add_allergy("Penicilina", "P-1")
    record.add_medication(Medication("m1", "Metformina", "500 mg"), "P-1")
    last = record.collect_events()[-1]
    assert isinstance(last, HealthRecord.HealthSummaryUpdated)
    assert last.allergies == ["Penicilina"]
    assert last.chronic_medications == [
        {"medication_id": "m1", "name": "Metformina", "dosage": "500 mg"}
    ]


def test_an_unknown_medication_cannot_change_stop_or_be_prescribed_by_id() -> None:
    record = a_record()
    with pytest.raises(UnknownMedication):
        record.change_medication(Medication("nope", "X", "1 mg"), "P-1")
    with pytest.raises(UnknownMedication):
        record.stop_medication("nope", "P-1")
    with pytest.raises(UnknownMedication):
        prescribe(record, [PrescriptionLine("X", "1 mg", 1, medication_id="nope")])


def test_stopping_a_medication_takes_it_off_the_summary() -> None:
    record = a_record()
    record.add_medication(Medication("m1", "Metformina", "500 mg"), "P-1")
    record.stop_medication("m1", "P-1")
    assert record.medications == {}


def test_an_allergy_or_condition_already_listed_changes_nothing() -> None:
    record = a_record()
    record.add_allergy("Penicilina", "P-1")
    record.add_allergy("penicilina", "P-2")
    record.add_chronic_condition("Diabetes tipo 2", "P-1")
    record.add_chronic_condition("DIABETES TIPO 2", "P-1")
    assert record.version == 3


def test_a_closed_record_takes_no_new_entry_of_any_kind() -> None:
    record = a_record()
    record.close("emigration", TODAY)
    attempts = [
        lambda: record.add_allergy("Pólen", "P-1"),
        lambda: record.add_chronic_condition("Asma", "P-1"),
        lambda: record.add_medication(Medication("m1", "Salbutamol", "100 µg"), "P-1"),
        lambda: vaccinate(record),
        lambda: record.update_care_plan(["Controlar asma"], [], "P-1", None, "P-1", TODAY),
        lambda: prescribe(record),
    ]
    for attempt in attempts:
        with pytest.raises(RecordClosed):
            attempt()


def test_closing_twice_records_one_closing() -> None:
    record = a_record()
    record.close("death", TODAY)
    record.close("death", TODAY)
    assert record.version == 2


@pytest.mark.parametrize(("dose", "on"), [(0, TODAY), (1, TODAY + timedelta(days=1))])
def test_a_dose_zero_or_a_dose_given_tomorrow_is_refused(dose: int, on: date) -> None:
    with pytest.raises(InvalidRecordEntry):
        vaccinate(a_record(), dose=dose, on=on)


def test_the_same_dose_of_the_same_vaccine_is_recorded_once() -> None:
    record = a_record()
    vaccinate(record, dose=1, vaccine="Tetanus")
    vaccinate(record, dose=2, vaccine="Tetanus")
    with pytest.raises(DuplicateVaccination):
        vaccinate(record, dose=1, vaccine="TETANUS")


def test_a_care_plan_needs_a_goal_and_a_review_not_in_the_past() -> None:
    record = a_record()
    with pytest.raises(InvalidRecordEntry):
        record.update_care_plan([], ["Caminhar"], "P-1", None, "P-1", TODAY)
    with pytest.raises(InvalidRecordEntry):
        record.update_care_plan(["Peso"], [], "P-1", TODAY - timedelta(days=1), "P-1", TODAY)
    record.update_care_plan(["Peso"], [], "P-1", TODAY, "P-1", TODAY)


@pytest.mark.parametrize(
    ("lines", "valid_until"),
    [
        ([], TODAY),
        ([PrescriptionLine("Metformina", "500 mg", 0)], TODAY),
        ([PrescriptionLine("Metformina", "500 mg", 1)], TODAY - timedelta(days=1)),
    ],
)
def test_a_prescription_needs_items_packs_and_a_validity_not_in_the_past(
    lines: list[PrescriptionLine], valid_until: date
) -> None:
    with pytest.raises(InvalidRecordEntry):
        prescribe(a_record(), lines, valid_until)


def test_a_prescription_is_issued_once() -> None:
    record = a_record()
    prescription_id = uuid.uuid4()
    prescribe(record, prescription_id=prescription_id)
    with pytest.raises(PrescriptionAlreadyIssued):
        prescribe(record, prescription_id=prescription_id)


def test_items_without_a_medication_id_get_one_and_chronic_ones_keep_theirs() -> None:
    record = a_record()
    record.add_medication(Medication("m1", "Metformina", "500 mg"), "P-1")
    prescribe(
        record,
        [
            PrescriptionLine("Metformina", "500 mg", 2, medication_id="m1"),
            PrescriptionLine("Amoxicilina", "1 g", 1),
        ],
    )
    issued = record.collect_events()[-1]
    ids = [item["medication_id"] for item in issued.items]  # type: ignore[attr-defined]
    assert ids[0] == "m1" and ids[1] and ids[1] != "m1"


def test_prescription_codes_are_six_and_four_random_digits_from_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[int] = []

    def randbelow(bound: int) -> int:
        drawn.append(bound)
        return 42

    monkeypatch.setattr(secrets, "randbelow", randbelow)
    codes = PrescriptionCodes.generate()
    assert (codes.access, codes.choice) == ("000042", "0042")
    assert drawn == [10**6, 10**4]


def test_real_codes_have_the_right_shape_and_never_show_in_a_repr() -> None:
    codes = PrescriptionCodes.generate()
    assert len(codes.access) == 6 and codes.access.isdigit()
    assert len(codes.choice) == 4 and codes.choice.isdigit()
    assert codes.access not in repr(codes) and codes.choice not in repr(codes)
