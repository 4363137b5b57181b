"""Records' use cases: open and close records, professionals' entries, the access decision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from rse_records.domain.access_decision import AccessDecision, authorised_categories, decide
from rse_records.domain.consent_register import ConsentRegister, ConsentSource
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
from rse_records.domain.record_access import RecordAccess
from rse_shared.clock import Clock, today, utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import (
    Category,
    CitizenDeregistered,
    CitizenRegistered,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    IntegrationEvent,
    MedicationRenewalDecided,
)


@dataclass(frozen=True)
class Reader:
    """A professional reading a record, as their access token names them."""

    practitioner_id: str
    health_unit: str | None


@dataclass(frozen=True)
class IssuedPrescription:
    """What the prescriber is told: never the codes, which are the citizen's alone."""

    prescription_id: uuid.UUID
    prescription_number: str


# Validity of a renewal's prescription when the doctor's decision names none.
DEFAULT_VALIDITY_DAYS = 180


def stated(reason: str | None) -> str | None:
    """A reason with something in it, or None."""
    return reason.strip() if reason and reason.strip() else None


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


class RecordsApplication(ConsumerApplication):
    """Health records, fed by identity (open/close) and consent (who may read what)."""

    name = "records"

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock = utcnow) -> None:
        super().__init__(env)
        self.clock = clock

    def today(self) -> date:
        """Today in UTC, by the application's clock."""
        return today(self.clock)

    # --- opening and closing (identity's events, or direct calls)

    def open_record(
        self, citizen_id: uuid.UUID, sns_number: str, full_name: str, date_of_birth: date
    ) -> uuid.UUID:
        record = HealthRecord(citizen_id, sns_number, full_name, date_of_birth)
        try:
            self.save(record)
        except IntegrityError:
            raise RecordAlreadyOpen(f"record of citizen {citizen_id} already open") from None
        return record.id

    # --- the health summary

    def add_allergy(self, citizen_id: uuid.UUID, allergy: str, by: str) -> None:
        record = self.record(citizen_id)
        record.add_allergy(allergy, by)
        self.save(record)

    def add_chronic_condition(self, citizen_id: uuid.UUID, condition: str, by: str) -> None:
        record = self.record(citizen_id)
        record.add_chronic_condition(condition, by)
        self.save(record)

    def add_medication(self, citizen_id: uuid.UUID, name: str, dosage: str, by: str) -> str:
        record = self.record(citizen_id)
        medication = Medication(new_item_id(), name, dosage)
        record.add_medication(medication, by)
        self.save(record)
        return medication.medication_id

    def change_medication(
        self, citizen_id: uuid.UUID, medication_id: str, name: str, dosage: str, by: str
    ) -> None:
        record = self.record(citizen_id)
        record.change_medication(Medication(medication_id, name, dosage), by)
        self.save(record)

    def stop_medication(self, citizen_id: uuid.UUID, medication_id: str, by: str) -> None:
        record = self.record(citizen_id)
        record.stop_medication(medication_id, by)
        self.save(record)

    # --- vaccinations, care plan, prescriptions

    def record_vaccination(
        self,
        citizen_id: uuid.UUID,
        *,
        vaccine: str,
        dose_number: int,
        administered_on: date,
        lot: str,
        health_unit: str,
        recorded_by: str,
    ) -> uuid.UUID:
        record = self.record(citizen_id)
        vaccination_id = uuid.uuid4()
        record.record_vaccination(
            vaccination_id,
            vaccine,
            dose_number,
            administered_on,
            lot,
            health_unit,
            recorded_by,
            self.today(),
        )
        self.save(record)
        return vaccination_id

    def update_care_plan(
        self,
        citizen_id: uuid.UUID,
        *,
        goals: list[str],
        interventions: list[str],
        responsible_professional: str,
        next_review: date | None,
        updated_by: str,
    ) -> None:
        record = self.record(citizen_id)
        record.update_care_plan(
            goals, interventions, responsible_professional, next_review, updated_by, self.today()
        )
        self.save(record)

    def issue_prescription(
        self,
        citizen_id: uuid.UUID,
        *,
        lines: Sequence[PrescriptionLine],
        valid_until: date,
        prescriber: str,
        renewal_request_id: uuid.UUID | None = None,
    ) -> IssuedPrescription:
        """Issue an e-prescription; a renewal request can be issued only once."""
        record = self.record(citizen_id)
        issued = self._prescribe(record, lines, valid_until, prescriber, renewal_request_id)
        self.save(record)
        return issued

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

    # --- reads: the access decision, recorded whatever it is

    def authorise_read(
        self,
        citizen_id: uuid.UUID,
        reader: Reader,
        categories: Sequence[Category],
        purpose: str | None,
        emergency_reason: str | None = None,
    ) -> AccessDecision:
        """Decide a professional's read against the consents in the event store; record it."""
        now = self.clock()
        decision = decide(
            self.consent_register(citizen_id),
            reader.practitioner_id,
            reader.health_unit,
            categories,
            now,
            emergency_reason,
        )
        self.save(
            RecordAccess(
                citizen_id=citizen_id,
                practitioner_id=reader.practitioner_id,
                health_unit=reader.health_unit,
                categories=list(categories),
                purpose=purpose,
                emergency_reason=stated(emergency_reason),
                decision=decision.decision,
                consent_id=decision.consent_id,
                accessed_at=now,
            )
        )
        return decision

    def categories_authorised(self, citizen_id: uuid.UUID, reader: Reader) -> frozenset[Category]:
        """What `reader` may read of the citizen's record right now, under consent."""
        return authorised_categories(
            self.consent_register(citizen_id),
            reader.practitioner_id,
            reader.health_unit,
            self.clock(),
        )

    def consent_register(self, citizen_id: uuid.UUID) -> ConsentRegister | None:
        try:
            register: ConsentRegister = self.repository.get(ConsentRegister.create_id(citizen_id))
        except AggregateNotFoundError:
            return None
        return register

    def record(self, citizen_id: uuid.UUID) -> HealthRecord:
        try:
            record: HealthRecord = self.repository.get(HealthRecord.create_id(citizen_id))
        except AggregateNotFoundError:
            raise RecordNotFound("no health record for that citizen") from None
        return record

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
            HealthRecord(event.citizen_id, event.sns_number, event.full_name, event.date_of_birth)
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
        self._prescribe(record, lines, valid_until, event.practitioner_id, event.request_id)
        processing_event.collect_events(record)

    def _register_or_new(self, citizen_id: uuid.UUID) -> ConsentRegister:
        return self.consent_register(citizen_id) or ConsentRegister(citizen_id)
