"""The citizen: personal data, family doctor, registration status."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from eventsourcing.domain import Aggregate, event

DeregistrationReason = Literal["death", "emigration"]
# How the citizen proved who they are: the OpenID Connect provider, or a counter's code.
ActivationMethod = Literal["oidc", "counter"]


class InvalidCitizenData(ValueError):
    """Personal data that breaks a rule (NIF check digit, SNS number format)."""


class CitizenDeregisteredError(Exception):
    """The citizen left the register; their data can no longer change."""


def check_nif(nif: str) -> None:
    """A Portuguese NIF: 9 digits whose last is the mod-11 check digit of the first 8."""
    if not re.fullmatch(r"[0-9]{9}", nif):
        raise InvalidCitizenData("NIF must be 9 digits")
    total = sum(int(d) * w for d, w in zip(nif[:8], range(9, 1, -1), strict=True))
    check = 11 - total % 11
    if (0 if check >= 10 else check) != int(nif[8]):
        raise InvalidCitizenData("NIF check digit is wrong")


def check_sns_number(sns_number: str) -> None:
    """An SNS user number: 9 digits."""
    if not re.fullmatch(r"[0-9]{9}", sns_number):
        raise InvalidCitizenData("SNS number must be 9 digits")


class Citizen(Aggregate):
    """A citizen of the SNS register, one per SNS number (its `SnsClaim`), with a random id.

    The id is not derived from the SNS number: knowing someone's number gives no handle on
    their record. Registered through the form, a citizen is not activated (and has no
    account) until they prove who they are.
    """

    citizen_is_id = True  # its events are sealed under this citizen's own data key

    # The events are declared, not left to `@event("...")`, so that mypy sees them
    # (the projection and the translator name them); their fields are the methods' arguments.
    class Registered(Aggregate.Created):
        sns_number: str
        nif: str
        full_name: str
        date_of_birth: date
        email: str
        phone: str
        address: str

    class PersonalDataUpdated(Aggregate.Event):
        changed: dict[str, str]

    class FamilyDoctorAssigned(Aggregate.Event):
        practitioner_id: str
        health_unit: str

    class Deregistered(Aggregate.Event):
        reason: DeregistrationReason
        effective_date: date

    class Activated(Aggregate.Event):
        method: ActivationMethod

    @event(Registered)
    def __init__(
        self,
        sns_number: str,
        nif: str,
        full_name: str,
        date_of_birth: date,
        email: str,
        phone: str,
        address: str,
    ) -> None:
        self.sns_number = sns_number
        self.nif = nif
        self.full_name = full_name
        self.date_of_birth = date_of_birth
        self.email = email
        self.phone = phone
        self.address = address
        self.family_doctor: tuple[str, str] | None = None
        self.deregistered: DeregistrationReason | None = None
        self.deregistration_date: date | None = None
        self.activated: ActivationMethod | None = None

    @classmethod
    def register(
        cls,
        sns_number: str,
        nif: str,
        full_name: str,
        date_of_birth: date,
        email: str,
        phone: str,
        address: str,
    ) -> Citizen:
        check_sns_number(sns_number)
        check_nif(nif)
        return cls(
            sns_number=sns_number,
            nif=nif,
            full_name=full_name,
            date_of_birth=date_of_birth,
            email=email,
            phone=phone,
            address=address,
        )

    def check_is_registered(self) -> None:
        if self.deregistered is not None:
            raise CitizenDeregisteredError("citizen is deregistered")

    def update_contacts(self, email: str | None, phone: str | None, address: str | None) -> None:
        self.check_is_registered()
        changes = {"email": email, "phone": phone, "address": address}
        changed = {k: v for k, v in changes.items() if v is not None and v != getattr(self, k)}
        if changed:
            self._personal_data_updated(changed=changed)

    @event(PersonalDataUpdated)
    def _personal_data_updated(self, changed: dict[str, str]) -> None:
        for field, value in changed.items():
            setattr(self, field, value)

    @event(FamilyDoctorAssigned)
    def assign_family_doctor(self, practitioner_id: str, health_unit: str) -> None:
        self.check_is_registered()
        self.family_doctor = (practitioner_id, health_unit)

    @event(Deregistered)
    def deregister(self, reason: DeregistrationReason, effective_date: date) -> None:
        self.check_is_registered()
        self.deregistered = reason
        self.deregistration_date = effective_date

    @event(Activated)
    def activate(self, method: ActivationMethod) -> None:
        self.check_is_registered()
        self.activated = method
