"""A citizen's health record: summary, vaccination bulletin, care plan and e-prescriptions."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id

ClosingReason = Literal["death", "emigration"]


class RecordNotFound(LookupError):
    """No health record for that citizen (not registered, or not yet known to records)."""


class RecordAlreadyOpen(Exception):
    """The citizen's record was opened before."""


class RecordClosed(Exception):
    """The citizen left the register: the record is kept, but takes no new entries."""


class InvalidRecordEntry(ValueError):
    """An entry that breaks a rule of the record (a dose 0, a vaccine given tomorrow, ...)."""


class UnknownMedication(LookupError):
    """No chronic medication with that id on the health summary."""


class DuplicateVaccination(Exception):
    """That dose of that vaccine is already on the bulletin."""


class PrescriptionAlreadyIssued(Exception):
    """A prescription with that id (e.g. for that renewal request) was issued before."""


@dataclass(frozen=True)
class Medication:
    """A chronic medication on the health summary; its id stays as its dosage changes."""

    medication_id: str
    name: str
    dosage: str


@dataclass(frozen=True)
class PrescriptionLine:
    """One medicine on an e-prescription; `medication_id` names a chronic medication, if any."""

    name: str
    dosage: str
    packs: int
    medication_id: str | None = None


@dataclass(frozen=True)
class PrescriptionCodes:
    """The access-and-dispensing (6 digits) and right-of-choice (4 digits) codes."""

    # Kept out of repr so that a log line or a traceback never shows them.
    access: str = field(repr=False)
    choice: str = field(repr=False)

    @classmethod
    def generate(cls) -> PrescriptionCodes:
        return cls(
            access=f"{secrets.randbelow(10**6):06d}", choice=f"{secrets.randbelow(10**4):04d}"
        )


def new_prescription_number() -> str:
    """A 19-digit e-prescription number."""
    return f"1{secrets.randbelow(10**18):018d}"


def new_item_id() -> str:
    return uuid.uuid4().hex


def prescription_id_for(renewal_request_id: uuid.UUID) -> uuid.UUID:
    """One prescription per renewal request: a re-delivered request cannot issue twice."""
    return natural_id("prescription", str(renewal_request_id))


class HealthRecord(Aggregate):
    """One per citizen, opened when identity registers them."""

    # Each event names its citizen, so it stands alone in a projection or an audit replay.
    class Opened(Aggregate.Created):
        citizen_id: uuid.UUID
        sns_number: str
        full_name: str
        # Records opened before CitizenRegistered v2 stored it; records never needed it.
        date_of_birth: date | None

    class HealthSummaryUpdated(Aggregate.Event):
        citizen_id: uuid.UUID
        allergies: list[str]
        chronic_conditions: list[str]
        chronic_medications: list[dict[str, str]]
        updated_by: str

    class VaccinationRecorded(Aggregate.Event):
        citizen_id: uuid.UUID
        vaccination_id: uuid.UUID
        vaccine: str
        dose_number: int
        administered_on: date
        lot: str
        health_unit: str
        recorded_by: str

    class CarePlanUpdated(Aggregate.Event):
        citizen_id: uuid.UUID
        goals: list[str]
        interventions: list[str]
        responsible_professional: str
        next_review: date | None
        updated_by: str

    class PrescriptionIssued(Aggregate.Event):
        citizen_id: uuid.UUID
        prescription_id: uuid.UUID
        prescription_number: str
        items: list[dict[str, Any]]
        valid_until: date
        prescriber: str
        access_code: str
        choice_code: str
        renewal_request_id: uuid.UUID | None

    class Closed(Aggregate.Event):
        citizen_id: uuid.UUID
        reason: ClosingReason
        effective_date: date

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("health-record", str(citizen_id))

    @event(Opened)
    def __init__(
        self,
        citizen_id: uuid.UUID,
        sns_number: str,
        full_name: str,
        date_of_birth: date | None = None,
    ) -> None:
        self.citizen_id = citizen_id
        self.allergies: list[str] = []
        self.chronic_conditions: list[str] = []
        self.medications: dict[str, Medication] = {}
        self.doses: dict[tuple[str, int], uuid.UUID] = {}
        self.prescriptions: set[uuid.UUID] = set()
        self.closed: ClosingReason | None = None

    def check_is_open(self) -> None:
        if self.closed is not None:
            raise RecordClosed("the citizen's record is closed to new entries")

    def dose_of(self, vaccine: str, dose_number: int) -> uuid.UUID | None:
        """The id of that dose of that vaccine on the bulletin, if it is there."""
        return self.doses.get((vaccine.casefold(), dose_number))

    def check_knows_medication(self, medication_id: str) -> None:
        if medication_id not in self.medications:
            raise UnknownMedication(f"no chronic medication {medication_id}")

    # --- health summary: each change publishes the whole summary, so each event stands alone

    def add_allergy(self, allergy: str, by: str) -> None:
        self.check_is_open()
        if allergy.casefold() not in {a.casefold() for a in self.allergies}:
            self._publish_summary(
                [*self.allergies, allergy],
                self.chronic_conditions,
                list(self.medications.values()),
                by,
            )

    def add_chronic_condition(self, condition: str, by: str) -> None:
        self.check_is_open()
        if condition.casefold() not in {c.casefold() for c in self.chronic_conditions}:
            self._publish_summary(
                self.allergies,
                [*self.chronic_conditions, condition],
                list(self.medications.values()),
                by,
            )

    def add_medication(self, medication: Medication, by: str) -> None:
        self.check_is_open()
        if medication.medication_id in self.medications:
            raise InvalidRecordEntry(f"medication {medication.medication_id} already listed")
        self._publish_summary(
            self.allergies, self.chronic_conditions, [*self.medications.values(), medication], by
        )

    def change_medication(self, medication: Medication, by: str) -> None:
        self.check_is_open()
        self.check_knows_medication(medication.medication_id)
        changed = {**self.medications, medication.medication_id: medication}
        self._publish_summary(self.allergies, self.chronic_conditions, list(changed.values()), by)

    def stop_medication(self, medication_id: str, by: str) -> None:
        self.check_is_open()
        self.check_knows_medication(medication_id)
        kept = [m for m in self.medications.values() if m.medication_id != medication_id]
        self._publish_summary(self.allergies, self.chronic_conditions, kept, by)

    def _publish_summary(
        self, allergies: list[str], conditions: list[str], medications: list[Medication], by: str
    ) -> None:
        self._summary_updated(
            citizen_id=self.citizen_id,
            allergies=list(allergies),
            chronic_conditions=list(conditions),
            chronic_medications=[asdict(m) for m in medications],
            updated_by=by,
        )

    @event(HealthSummaryUpdated)
    def _summary_updated(
        self,
        citizen_id: uuid.UUID,
        allergies: list[str],
        chronic_conditions: list[str],
        chronic_medications: list[dict[str, str]],
        updated_by: str,
    ) -> None:
        self.allergies = list(allergies)
        self.chronic_conditions = list(chronic_conditions)
        self.medications = {m["medication_id"]: Medication(**m) for m in chronic_medications}

    # --- vaccination bulletin

    def record_vaccination(
        self,
        vaccination_id: uuid.UUID,
        vaccine: str,
        dose_number: int,
        administered_on: date,
        lot: str,
        health_unit: str,
        recorded_by: str,
        today: date,
    ) -> None:
        self.check_is_open()
        if dose_number < 1:
            raise InvalidRecordEntry("dose numbers start at 1")
        if administered_on > today:
            raise InvalidRecordEntry("a vaccine cannot be recorded before it is given")
        if (vaccine.casefold(), dose_number) in self.doses:
            raise DuplicateVaccination(f"dose {dose_number} of {vaccine} is already recorded")
        self._vaccination_recorded(
            citizen_id=self.citizen_id,
            vaccination_id=vaccination_id,
            vaccine=vaccine,
            dose_number=dose_number,
            administered_on=administered_on,
            lot=lot,
            health_unit=health_unit,
            recorded_by=recorded_by,
        )

    @event(VaccinationRecorded)
    def _vaccination_recorded(
        self,
        citizen_id: uuid.UUID,
        vaccination_id: uuid.UUID,
        vaccine: str,
        dose_number: int,
        administered_on: date,
        lot: str,
        health_unit: str,
        recorded_by: str,
    ) -> None:
        self.doses[(vaccine.casefold(), dose_number)] = vaccination_id

    # --- individual care plan

    def update_care_plan(
        self,
        goals: list[str],
        interventions: list[str],
        responsible_professional: str,
        next_review: date | None,
        updated_by: str,
        today: date,
    ) -> None:
        self.check_is_open()
        if not goals:
            raise InvalidRecordEntry("a care plan has at least one goal")
        if next_review is not None and next_review < today:
            raise InvalidRecordEntry("the next review cannot be in the past")
        self._care_plan_updated(
            citizen_id=self.citizen_id,
            goals=list(goals),
            interventions=list(interventions),
            responsible_professional=responsible_professional,
            next_review=next_review,
            updated_by=updated_by,
        )

    @event(CarePlanUpdated)
    def _care_plan_updated(
        self,
        citizen_id: uuid.UUID,
        goals: list[str],
        interventions: list[str],
        responsible_professional: str,
        next_review: date | None,
        updated_by: str,
    ) -> None:
        """The plan itself is read from its projection; no rule here depends on it."""

    # --- e-prescriptions

    def issue_prescription(
        self,
        prescription_id: uuid.UUID,
        prescription_number: str,
        lines: list[PrescriptionLine],
        valid_until: date,
        prescriber: str,
        codes: PrescriptionCodes,
        renewal_request_id: uuid.UUID | None,
        today: date,
    ) -> None:
        self.check_is_open()
        self.check_prescribable(lines, valid_until, today)
        if prescription_id in self.prescriptions:
            raise PrescriptionAlreadyIssued(f"prescription {prescription_id} already issued")
        items = [
            asdict(line) | {"medication_id": line.medication_id or new_item_id()} for line in lines
        ]
        self._prescription_issued(
            citizen_id=self.citizen_id,
            prescription_id=prescription_id,
            prescription_number=prescription_number,
            items=items,
            valid_until=valid_until,
            prescriber=prescriber,
            access_code=codes.access,
            choice_code=codes.choice,
            renewal_request_id=renewal_request_id,
        )

    def check_prescribable(
        self, lines: list[PrescriptionLine], valid_until: date, today: date
    ) -> None:
        if not lines:
            raise InvalidRecordEntry("a prescription has at least one item")
        if any(line.packs < 1 for line in lines):
            raise InvalidRecordEntry("each item needs at least one pack")
        if valid_until < today:
            raise InvalidRecordEntry("a prescription cannot be valid only in the past")
        for line in lines:
            if line.medication_id is not None:
                self.check_knows_medication(line.medication_id)

    @event(PrescriptionIssued)
    def _prescription_issued(
        self,
        citizen_id: uuid.UUID,
        prescription_id: uuid.UUID,
        prescription_number: str,
        items: list[dict[str, Any]],
        valid_until: date,
        prescriber: str,
        access_code: str,
        choice_code: str,
        renewal_request_id: uuid.UUID | None,
    ) -> None:
        self.prescriptions.add(prescription_id)

    # --- closing

    def close(self, reason: ClosingReason, effective_date: date) -> None:
        if self.closed is None:  # a second deregistration changes nothing
            self._closed(citizen_id=self.citizen_id, reason=reason, effective_date=effective_date)

    @event(Closed)
    def _closed(self, citizen_id: uuid.UUID, reason: ClosingReason, effective_date: date) -> None:
        self.closed = reason
