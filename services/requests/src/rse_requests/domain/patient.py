"""A patient: what requests keeps of a citizen, from identity's, records' and benefits' events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate, event

from rse_requests.domain.rules import exempt_on
from rse_shared.eventstore import natural_id


class UnknownPatient(Exception):
    """The citizen is not known to requests (yet)."""


class PatientDeregistered(Exception):
    """The citizen left the SNS register; nothing new can be requested."""


class NoFamilyDoctor(Exception):
    """The citizen has no family doctor assigned."""


class NotYourFamilyDoctor(Exception):
    """Citizens book only with the family doctor assigned to them."""


class MedicationNotOnSummary(ValueError):
    """Only chronic medications on the citizen's health summary can be renewed."""


class RenewalAlreadyPending(Exception):
    """A medication already waits for the doctor's decision in another request."""


class AppointmentNotFound(LookupError):
    """No such appointment among the citizen's booked ones."""


class Patient(Aggregate):
    """One per citizen: family doctor, chronic medications, exemptions and open requests."""

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("patient", str(citizen_id))

    class Opened(Aggregate.Created):
        citizen_id: uuid.UUID

    @event(Opened)
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id
        self.family_doctor: tuple[str, str] | None = None
        self.medications: dict[str, dict[str, str]] = {}
        self.exemptions: list[dict[str, Any]] = []
        self.deregistered = False
        # Ids of what reactions (deregistration, change of doctor) must be able to reach.
        self.appointments: dict[str, uuid.UUID] = {}
        self.pending_renewals: dict[str, list[str]] = {}
        self.open_referrals: set[str] = set()

    def check_active(self) -> None:
        if self.deregistered:
            raise PatientDeregistered("citizen is deregistered")

    def doctor(self) -> tuple[str, str]:
        """(practitioner_id, health_unit) of the family doctor."""
        self.check_active()
        if self.family_doctor is None:
            raise NoFamilyDoctor("no family doctor is assigned to the citizen")
        return self.family_doctor

    def check_family_doctor(self, practitioner_id: str) -> None:
        if self.doctor()[0] != practitioner_id:
            raise NotYourFamilyDoctor("appointments are booked with the citizen's family doctor")

    def medications_for(self, medication_ids: Sequence[str]) -> list[dict[str, str]]:
        """The summary's medications with these ids, if all of them can be renewed now."""
        self.check_active()
        missing = [m for m in medication_ids if m not in self.medications]
        if missing:
            raise MedicationNotOnSummary(f"not on the health summary: {', '.join(missing)}")
        pending = {m for ids in self.pending_renewals.values() for m in ids}
        already = [m for m in medication_ids if m in pending]
        if already:
            raise RenewalAlreadyPending(f"renewal already pending: {', '.join(already)}")
        return [{"medication_id": m, **self.medications[m]} for m in medication_ids]

    def is_exempt(self, today: date) -> bool:
        return exempt_on(self.exemptions, today)

    def assign_family_doctor(self, practitioner_id: str, health_unit: str) -> None:
        if self.family_doctor != (practitioner_id, health_unit):
            self._family_doctor_assigned(
                citizen_id=self.citizen_id, practitioner_id=practitioner_id, health_unit=health_unit
            )

    class FamilyDoctorAssigned(Aggregate.Event):
        citizen_id: uuid.UUID
        practitioner_id: str
        health_unit: str

    # Events the read models use repeat the citizen id: the aggregate id is a hash of it.
    @event(FamilyDoctorAssigned)
    def _family_doctor_assigned(
        self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str
    ) -> None:
        self.family_doctor = (practitioner_id, health_unit)

    def update_medications(self, medications: list[dict[str, str]]) -> None:
        current = [{"medication_id": k, **v} for k, v in self.medications.items()]
        if medications != current:
            self._medications_updated(citizen_id=self.citizen_id, medications=medications)

    class MedicationsUpdated(Aggregate.Event):
        citizen_id: uuid.UUID
        medications: list[dict[str, str]]

    @event(MedicationsUpdated)
    def _medications_updated(
        self, citizen_id: uuid.UUID, medications: list[dict[str, str]]
    ) -> None:
        self.medications = {
            m["medication_id"]: {"name": m["name"], "dosage": m["dosage"]} for m in medications
        }

    def grant_exemption(
        self,
        exemption_id: uuid.UUID,
        category: str,
        valid_from: date | None,
        valid_until: date | None,
    ) -> None:
        granted = {
            "exemption_id": str(exemption_id),
            "category": category,
            "valid_from": valid_from.isoformat() if valid_from else None,
            "valid_until": valid_until.isoformat() if valid_until else None,
        }
        others = [e for e in self.exemptions if e["exemption_id"] != str(exemption_id)]
        self._exemptions_changed(citizen_id=self.citizen_id, exemptions=[*others, granted])

    def end_exemption(self, exemption_id: uuid.UUID) -> None:
        others = [e for e in self.exemptions if e["exemption_id"] != str(exemption_id)]
        if others != self.exemptions:
            self._exemptions_changed(citizen_id=self.citizen_id, exemptions=others)

    class ExemptionsChanged(Aggregate.Event):
        citizen_id: uuid.UUID
        exemptions: list[dict[str, Any]]

    @event(ExemptionsChanged)
    def _exemptions_changed(self, citizen_id: uuid.UUID, exemptions: list[dict[str, Any]]) -> None:
        self.exemptions = exemptions

    def deregister(self) -> None:
        if not self.deregistered:
            self._deregistered(citizen_id=self.citizen_id)

    class Deregistered(Aggregate.Event):
        citizen_id: uuid.UUID

    @event(Deregistered)
    def _deregistered(self, citizen_id: uuid.UUID) -> None:
        self.deregistered = True

    class AppointmentAdded(Aggregate.Event):
        appointment_id: uuid.UUID
        slot_id: uuid.UUID

    @event(AppointmentAdded)
    def add_appointment(self, appointment_id: uuid.UUID, slot_id: uuid.UUID) -> None:
        self.appointments[str(appointment_id)] = slot_id

    def slot_of(self, appointment_id: uuid.UUID) -> uuid.UUID:
        try:
            return self.appointments[str(appointment_id)]
        except KeyError:
            raise AppointmentNotFound(f"appointment {appointment_id} not found") from None

    def close_appointment(self, appointment_id: uuid.UUID) -> None:
        if str(appointment_id) in self.appointments:
            self._appointment_closed(appointment_id=appointment_id)

    class AppointmentClosed(Aggregate.Event):
        appointment_id: uuid.UUID

    @event(AppointmentClosed)
    def _appointment_closed(self, appointment_id: uuid.UUID) -> None:
        self.appointments.pop(str(appointment_id), None)

    class RenewalOpened(Aggregate.Event):
        request_id: uuid.UUID
        medication_ids: list[str]

    @event(RenewalOpened)
    def open_renewal(self, request_id: uuid.UUID, medication_ids: list[str]) -> None:
        self.pending_renewals[str(request_id)] = list(medication_ids)

    def close_renewal(self, request_id: uuid.UUID) -> None:
        if str(request_id) in self.pending_renewals:
            self._renewal_closed(request_id=request_id)

    class RenewalClosed(Aggregate.Event):
        request_id: uuid.UUID

    @event(RenewalClosed)
    def _renewal_closed(self, request_id: uuid.UUID) -> None:
        self.pending_renewals.pop(str(request_id), None)

    class ReferralOpened(Aggregate.Event):
        referral_id: uuid.UUID

    @event(ReferralOpened)
    def open_referral(self, referral_id: uuid.UUID) -> None:
        self.open_referrals.add(str(referral_id))

    def close_referral(self, referral_id: uuid.UUID) -> None:
        if str(referral_id) in self.open_referrals:
            self._referral_closed(referral_id=referral_id)

    class ReferralClosed(Aggregate.Event):
        referral_id: uuid.UUID

    @event(ReferralClosed)
    def _referral_closed(self, referral_id: uuid.UUID) -> None:
        self.open_referrals.discard(str(referral_id))
