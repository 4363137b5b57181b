from datetime import date

import pytest

from rse_identity.domain.citizen import (
    Citizen,
    CitizenDeregisteredError,
    InvalidCitizenData,
    check_nif,
)


def a_citizen(**overrides: object) -> Citizen:
    data = {
        "sns_number": "123456789",
        "nif": "123456789",
        "full_name": "Ana Silva",
        "date_of_birth": date(1980, 5, 17),
        "email": "ana@example.pt",
        "phone": "+351912345678",
        "address": "Rua A, Lisboa",
    }
    data.update(overrides)
    return Citizen.register(**data)  # type: ignore[arg-type]


@pytest.mark.parametrize("nif", ["123456789", "501964843", "999999990", "100000002"])
def test_accepts_nifs_with_a_right_check_digit(nif: str) -> None:
    check_nif(nif)


@pytest.mark.parametrize("nif", ["123456788", "12345678", "1234567890", "12345678a", ""])
def test_refuses_nifs_with_a_wrong_check_digit_or_length(nif: str) -> None:
    with pytest.raises(InvalidCitizenData):
        check_nif(nif)


def test_refuses_an_sns_number_of_eight_digits() -> None:
    with pytest.raises(InvalidCitizenData):
        a_citizen(sns_number="12345678")


def test_a_citizen_id_is_random_not_derived_from_the_sns_number() -> None:
    # Knowing an SNS number must give no handle on the citizen's record.
    assert a_citizen().id != a_citizen().id
    assert a_citizen().id.version == 4


def test_updating_contacts_records_only_what_changed() -> None:
    citizen = a_citizen()
    citizen.update_contacts(email="new@example.pt", phone="+351912345678", address=None)
    event = citizen.collect_events()[-1]
    assert isinstance(event, Citizen.PersonalDataUpdated)
    assert event.changed == {"email": "new@example.pt"}


def test_updating_with_the_same_contacts_records_nothing() -> None:
    citizen = a_citizen()
    citizen.update_contacts(email="ana@example.pt", phone=None, address=None)
    assert len(citizen.collect_events()) == 1


def test_a_deregistered_citizen_cannot_change() -> None:
    citizen = a_citizen()
    citizen.deregister("emigration", date(2026, 1, 1))
    with pytest.raises(CitizenDeregisteredError):
        citizen.update_contacts(email="x@example.pt", phone=None, address=None)
    with pytest.raises(CitizenDeregisteredError):
        citizen.assign_family_doctor("P1", "USF A")
