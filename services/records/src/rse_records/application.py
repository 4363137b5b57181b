"""Records' use cases: open and close records, professionals' entries, the access decision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from rse_records.access import AccessApplication, Reader, stated
from rse_records.domain.care_relationship import Writer
from rse_records.domain.care_team import CareTeam
from rse_records.domain.consent_register import ConsentRegister, ConsentSource
from rse_records.domain.entry_refs import CARE_PLAN_ID, position_of, ref
from rse_records.domain.health_record import (
    HealthRecord,
    Medication,
    PrescriptionCodes,
    PrescriptionLine,
    RecordAlreadyOpen,
    RecordNotFound,
    new_item_id,
    new_prescription_number,
    prescription_id_for,
)
from rse_records.domain.record_access import EntryRefs
from rse_shared.contracts import (
    CitizenDeregistered,
    CitizenRegistered,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    FamilyDoctorAssigned,
    IntegrationEvent,
    MedicationRenewalDecided,
    ReferralRegistered,
    ReferralStatusChanged,
)

__all__ = ["Dose", "IssuedPrescription", "Plan", "Reader", "RecordsApplication", "Writer", "stated"]


@dataclass(frozen=True)
class Dose:
    """A vaccine dose as the professional enters it."""

    vaccine: str
    dose_number: int
    administered_on: date
    lot: str
    health_unit: str

    def given(self, by: Writer) -> tuple[str, int, date, str, str, str]:
        """The dose's fields, recorded by `by`, in the order the record takes them."""
        return (
            self.vaccine,
            self.dose_number,
            self.administered_on,
            self.lot,
            self.health_unit,
            by.actor_id,
        )


@dataclass(frozen=True)
class Plan:
    """An individual care plan as the professional enters it."""

    goals: list[str]
    interventions: list[str]
    responsible_professional: str
    next_review: date | None

    def by(self, writer: Writer) -> tuple[list[str], list[str], str, date | None, str]:
        """The plan's fields, updated by `writer`, in the order the record takes them."""
        return (
            list(self.goals),
            list(self.interventions),
            self.responsible_professional,
            self.next_review,
            writer.actor_id,
        )


@dataclass(frozen=True)
class IssuedPrescription:
    """What the prescriber is told: never the codes, which are the citizen's alone."""

    prescription_id: uuid.UUID
    prescription_number: str


# Validity of a renewal's prescription when the doctor's decision names none.
DEFAULT_VALIDITY_DAYS = 180


def source_of(event: IntegrationEvent) -> ConsentSource | None:
    """The consent.events record an event was read from, as the register keeps it."""
    origin = event.origin
    if origin is None:
        return None
    return ConsentSource(
        topic=origin.topic,
        partition=origin.partition,
        offset=origin.offset,
        chain_hash=event.chain_hash,
    )


class RecordsApplication(AccessApplication):
    """Health records, fed by identity (open/close, family doctor), consent (who may read
    what) and requests (referrals, renewals); every write needs a care relationship."""

    name = "records"

    # --- opening and closing (identity's events, or direct calls)

    def open_record(self, citizen_id: uuid.UUID, sns_number: str, full_name: str) -> uuid.UUID:
        record = HealthRecord(citizen_id, sns_number, full_name)
        try:
            self.save(record)
        except IntegrityError:
            raise RecordAlreadyOpen(f"record of citizen {citizen_id} already open") from None
        return record.id

    # --- the health summary (each write decided by a care relationship, and recorded)

    def add_allergy(
        self, citizen_id: uuid.UUID, allergy: str, by: Writer, emergency: str | None = None
    ) -> None:
        def change(record: HealthRecord) -> EntryRefs:
            record.add_allergy(allergy, by.actor_id)
            return [ref("allergy", f"allergies/{position_of(record.allergies, allergy)}")]

        self.write(citizen_id, by, "health_summary", emergency, change)

    def add_chronic_condition(
        self, citizen_id: uuid.UUID, condition: str, by: Writer, emergency: str | None = None
    ) -> None:
        def change(record: HealthRecord) -> EntryRefs:
            record.add_chronic_condition(condition, by.actor_id)
            at = position_of(record.chronic_conditions, condition)
            return [ref("chronic_condition", f"chronic_conditions/{at}")]

        self.write(citizen_id, by, "health_summary", emergency, change)

    def add_medication(
        self,
        citizen_id: uuid.UUID,
        name: str,
        dosage: str,
        by: Writer,
        emergency: str | None = None,
    ) -> str:
        medication = Medication(new_item_id(), name, dosage)

        def change(record: HealthRecord) -> EntryRefs:
            record.add_medication(medication, by.actor_id)
            return [ref("medication", medication.medication_id)]

        self.write(citizen_id, by, "health_summary", emergency, change)
        return medication.medication_id

    def change_medication(
        self,
        citizen_id: uuid.UUID,
        medication_id: str,
        name: str,
        dosage: str,
        by: Writer,
        emergency: str | None = None,
    ) -> None:
        def change(record: HealthRecord) -> EntryRefs:
            record.change_medication(Medication(medication_id, name, dosage), by.actor_id)
            return [ref("medication", medication_id)]

        self.write(citizen_id, by, "health_summary", emergency, change)

    def stop_medication(self, citizen_id: uuid.UUID, medication_id: str, by: Writer) -> None:
        def change(record: HealthRecord) -> EntryRefs:
            record.stop_medication(medication_id, by.actor_id)
            return [ref("medication", medication_id)]

        self.write(citizen_id, by, "health_summary", None, change)

    # --- vaccinations, care plan, prescriptions

    def record_vaccination(
        self, citizen_id: uuid.UUID, dose: Dose, by: Writer, emergency: str | None = None
    ) -> uuid.UUID:
        """Record a dose; a dose already there is named only to who may read the bulletin."""
        recorded = [uuid.uuid4()]

        def change(record: HealthRecord) -> EntryRefs:
            known = record.dose_of(dose.vaccine, dose.dose_number)
            if known is not None and not self.may_read(citizen_id, by, "vaccinations"):
                # To anyone else a dose given twice is recorded once: the answer is the one
                # a new dose gets, so it tells nothing of what the bulletin holds.
                recorded[0] = known
            else:
                record.record_vaccination(recorded[0], *dose.given(by), self.today())
            return [ref("vaccination", recorded[0])]

        self.write(citizen_id, by, "vaccinations", emergency, change)
        return recorded[0]

    def update_care_plan(
        self, citizen_id: uuid.UUID, plan: Plan, by: Writer, emergency: str | None = None
    ) -> None:
        def change(record: HealthRecord) -> EntryRefs:
            record.update_care_plan(*plan.by(by), self.today())
            return [ref("care_plan", CARE_PLAN_ID)]

        self.write(citizen_id, by, "care_plan", emergency, change)

    def issue_prescription(
        self,
        citizen_id: uuid.UUID,
        *,
        lines: Sequence[PrescriptionLine],
        valid_until: date,
        by: Writer,
        emergency: str | None = None,
        renewal_request_id: uuid.UUID | None = None,
    ) -> IssuedPrescription:
        """Issue an e-prescription under a care relationship; a renewal request only once."""
        issued: list[IssuedPrescription] = []

        def change(record: HealthRecord) -> EntryRefs:
            renewal = renewal_request_id
            issued[:] = [self._prescribe(record, lines, valid_until, by.actor_id, renewal)]
            return [ref("prescription", issued[0].prescription_id)]

        self.write(citizen_id, by, "prescriptions", emergency, change)
        return issued[0]

    def _prescribe(
        self,
        record: HealthRecord,
        lines: Sequence[PrescriptionLine],
        valid_until: date,
        prescriber: str,
        renewal_request_id: uuid.UUID | None,
    ) -> IssuedPrescription:
        prescription_id = (
            prescription_id_for(renewal_request_id) if renewal_request_id else uuid.uuid4()
        )
        issued = IssuedPrescription(prescription_id, new_prescription_number())
        record.issue_prescription(
            prescription_id,
            issued.prescription_number,
            list(lines),
            valid_until,
            prescriber,
            PrescriptionCodes.generate(),
            renewal_request_id,
            self.today(),
        )
        return issued

    # --- what other services tell records (each message applied exactly once)

    @singledispatchmethod
    def handle(self, event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events change nothing here."""

    @handle.register(CitizenRegistered)
    def when_citizen_registered_open_record(
        self,
        event: CitizenRegistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        # No existence check: a second opening conflicts at version 1 and is not applied.
        processing_event.collect_events(
            HealthRecord(event.citizen_id, event.sns_number, event.full_name)
        )

    @handle.register(CitizenDeregistered)
    def when_citizen_deregistered_close_record(
        self,
        event: CitizenDeregistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        try:
            record = self.record(event.citizen_id)
        except RecordNotFound:
            return  # never opened here: nothing to close
        record.close(event.reason, event.effective_date)
        processing_event.collect_events(record)

    @handle.register(ConsentGranted)
    def when_consent_granted_allow_access(
        self,
        event: ConsentGranted,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        register = self._register_or_new(event.citizen_id)
        register.grant(
            event.consent_id,
            event.grantee_kind,
            event.grantee_id,
            list(event.categories),
            event.purpose,
            event.valid_from,
            event.valid_until,
            source_of(event),
        )
        processing_event.collect_events(register)

    @handle.register(ConsentRevoked)
    def when_consent_revoked_deny_access(
        self,
        event: ConsentRevoked,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        register = self._register_or_new(event.citizen_id)
        register.revoke(event.consent_id, event.revoked_at, source_of(event))
        processing_event.collect_events(register)

    @handle.register(ConsentExpired)
    def when_consent_expired_deny_access(
        self,
        event: ConsentExpired,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        register = self._register_or_new(event.citizen_id)
        register.expire(event.consent_id, event.expired_at, source_of(event))
        processing_event.collect_events(register)

    @handle.register(MedicationRenewalDecided)
    def when_renewal_approved_issue_prescription(
        self,
        event: MedicationRenewalDecided,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        if event.decision != "approved":
            return
        record = self.record(event.citizen_id)
        if prescription_id_for(event.request_id) in record.prescriptions:
            return  # issued already, under an earlier delivery
        lines = [
            PrescriptionLine(
                name=i.name, dosage=i.dosage, packs=i.packs, medication_id=i.medication_id
            )
            for i in event.items
        ]
        valid_until = event.valid_until or self.today() + timedelta(days=DEFAULT_VALIDITY_DAYS)
        issued = self._prescribe(
            record, lines, valid_until, event.practitioner_id, event.request_id
        )
        written = self.renewal_written(
            event.citizen_id, event.practitioner_id, issued.prescription_id
        )
        processing_event.collect_events(record, written)

    @handle.register(FamilyDoctorAssigned)
    def when_family_doctor_assigned_join_the_care_team(
        self,
        event: FamilyDoctorAssigned,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        team = self._team_or_new(event.citizen_id)
        team.assign_family_doctor(event.practitioner_id, event.health_unit)
        processing_event.collect_events(team)

    @handle.register(ReferralRegistered)
    def when_referral_registered_join_its_hospital(
        self,
        event: ReferralRegistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        team = self._team_or_new(event.citizen_id)
        team.open_referral(event.referral_id, event.hospital)
        processing_event.collect_events(team)

    @handle.register(ReferralStatusChanged)
    def when_referral_closed_release_its_hospital(
        self,
        event: ReferralStatusChanged,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        team = self._team_or_new(event.citizen_id)
        team.change_referral(event.referral_id, event.status)
        processing_event.collect_events(team)

    def _register_or_new(self, citizen_id: uuid.UUID) -> ConsentRegister:
        return self.consent_register(citizen_id) or ConsentRegister(citizen_id)

    def _team_or_new(self, citizen_id: uuid.UUID) -> CareTeam:
        return self.care_team(citizen_id) or CareTeam(citizen_id)
