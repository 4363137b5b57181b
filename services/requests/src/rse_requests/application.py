"""Requests' use cases: appointments, medication renewals, SIGA referrals, and reactions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import singledispatchmethod
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from rse_requests.domain.patient import Patient, UnknownPatient
from rse_requests.domain.referral import HospitalStaff, Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.rules import DEFAULT_TMRG_DAYS
from rse_requests.domain.slot import CancelledBy, ConcurrentBooking, Slot, SlotAlreadyOpen
from rse_shared.clock import Clock, today, utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import (
    CitizenDeregistered,
    CitizenRegistered,
    ExemptionDecided,
    ExemptionExpired,
    FamilyDoctorAssigned,
    HealthSummaryUpdated,
    PrescriptionIssued,
    Priority,
)

log = logging.getLogger(__name__)

DEREGISTERED = "citizen deregistered"
A = TypeVar("A", bound=Aggregate)


class SlotNotFound(LookupError):
    """No such slot (or not the caller's)."""


class RenewalNotFound(LookupError):
    """No such renewal request (or not the caller's)."""


class ReferralNotFound(LookupError):
    """No such referral."""


class RequestsApplication(ConsumerApplication):
    """Appointments with the family doctor, chronic medication renewals and SIGA referrals."""

    name = "requests"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        booking_horizon_days: int = 60,
        tmrg_days: Mapping[Priority, int] = DEFAULT_TMRG_DAYS,
        max_validity_days: int = 365,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(env)
        self.booking_horizon_days = booking_horizon_days
        self.tmrg_days = dict(tmrg_days)
        self.max_validity_days = max_validity_days
        self.clock = clock

    def today(self) -> date:
        """Today in UTC, by the application's clock."""
        return today(self.clock)

    # --- appointments -------------------------------------------------------------------

    def open_slot(
        self, practitioner_id: str, health_unit: str, starts_at: datetime, duration_minutes: int
    ) -> Slot:
        """Open a slot; opening it again conflicts at version 1."""
        slot = Slot.open(practitioner_id, health_unit, starts_at, duration_minutes, self.clock())
        try:
            self.save(slot)
        except IntegrityError:
            raise SlotAlreadyOpen("a slot starting at that time is already open") from None
        return slot

    def book(self, citizen_id: uuid.UUID, slot_id: uuid.UUID) -> Slot:
        """Book a free slot with the citizen's family doctor.

        Two concurrent bookings both write the slot's next version: the second save raises
        IntegrityError, so a slot is never booked twice.
        """
        patient = self._patient(citizen_id)
        slot = self.slot(slot_id)
        patient.check_family_doctor(slot.practitioner_id)
        appointment_id = uuid.uuid4()
        slot.book(appointment_id, citizen_id, self.clock(), self.booking_horizon_days)
        patient.add_appointment(appointment_id, slot.id)
        try:
            self.save(slot, patient)
        except IntegrityError:
            raise ConcurrentBooking("the slot was booked meanwhile") from None
        return slot

    def cancel_appointment(
        self, citizen_id: uuid.UUID, appointment_id: uuid.UUID, reason: str
    ) -> Slot:
        """The citizen cancels one of their upcoming appointments; the slot is free again."""
        patient = self._patient(citizen_id)
        slot = self.slot(patient.slot_of(appointment_id))
        self._cancel(patient, slot, appointment_id, "citizen", reason)
        self.save(slot, patient)
        return slot

    def cancel_booking(self, practitioner_id: str, slot_id: uuid.UUID, reason: str) -> Slot:
        """The professional cancels the appointment booked in one of their slots."""
        slot = self.slot(slot_id)
        if (
            slot.practitioner_id != practitioner_id
            or slot.appointment_id is None
            or slot.citizen_id is None
        ):
            raise SlotNotFound(f"no booked slot {slot_id} in your agenda")
        patient = self._patient(slot.citizen_id)
        self._cancel(patient, slot, slot.appointment_id, "professional", reason)
        self.save(slot, patient)
        return slot

    def _cancel(
        self,
        patient: Patient,
        slot: Slot,
        appointment_id: uuid.UUID,
        cancelled_by: CancelledBy,
        reason: str,
    ) -> None:
        slot.cancel(appointment_id, cancelled_by, reason, self.clock())
        patient.close_appointment(appointment_id)

    # --- medication renewals ------------------------------------------------------------

    def request_renewal(
        self, citizen_id: uuid.UUID, medication_ids: Sequence[str]
    ) -> RenewalRequest:
        """Ask the family doctor to renew chronic medications from the health summary."""
        patient = self._patient(citizen_id)
        medications = patient.medications_for(medication_ids)
        practitioner_id, health_unit = patient.doctor()
        renewal = RenewalRequest(citizen_id, medications, practitioner_id, health_unit)
        patient.open_renewal(renewal.id, list(medication_ids))
        self.save(renewal, patient)
        return renewal

    def approve_renewal(
        self,
        practitioner_id: str,
        request_id: uuid.UUID,
        packs: Mapping[str, int],
        valid_until: date,
    ) -> RenewalRequest:
        """The addressed doctor approves items (packs each) until a validity date."""
        renewal = self.renewal(request_id)
        renewal.approve(practitioner_id, packs, valid_until, self.today(), self.max_validity_days)
        return self._closed(renewal)

    def reject_renewal(
        self, practitioner_id: str, request_id: uuid.UUID, reason: str
    ) -> RenewalRequest:
        """The addressed doctor rejects the request, with a reason the citizen sees."""
        renewal = self.renewal(request_id)
        renewal.reject(practitioner_id, reason)
        return self._closed(renewal)

    def _closed(self, renewal: RenewalRequest) -> RenewalRequest:
        patient = self._patient(renewal.citizen_id)
        patient.close_renewal(renewal.id)
        self.save(renewal, patient)
        return renewal

    # --- referrals ----------------------------------------------------------------------

    def register_referral(
        self,
        citizen_id: uuid.UUID,
        specialty: str,
        hospital: str,
        priority: Priority,
        practitioner_id: str,
        health_unit: str,
    ) -> Referral:
        """Register a referral; its deadline follows from the TMRG of its priority."""
        patient = self._patient(citizen_id)
        patient.check_active()
        referral = Referral.register(
            citizen_id,
            specialty,
            hospital,
            priority,
            self.today(),
            self.tmrg_days,
            practitioner_id,
            health_unit,
        )
        patient.open_referral(referral.id)
        self.save(referral, patient)
        return referral

    def schedule_referral(self, referral_id: uuid.UUID, day: date, by: HospitalStaff) -> Referral:
        referral = self.referral(referral_id)
        referral.schedule(day, self.today(), by)
        self.save(referral)
        return referral

    def complete_referral(self, referral_id: uuid.UUID, by: HospitalStaff) -> Referral:
        referral = self.referral(referral_id)
        referral.complete(by)
        return self._referral_closed(referral)

    def cancel_referral(self, referral_id: uuid.UUID, reason: str, by: HospitalStaff) -> Referral:
        referral = self.referral(referral_id)
        referral.cancel(reason, by)
        return self._referral_closed(referral)

    def _referral_closed(self, referral: Referral) -> Referral:
        patient = self._patient(referral.citizen_id)
        patient.close_referral(referral.id)
        self.save(referral, patient)
        return referral

    def flag_breach_if_due(self, referral_id: uuid.UUID) -> bool:
        """Flag a referral still unscheduled after its deadline; False if it is not due."""
        referral = self.referral(referral_id)
        if not referral.is_breach_due(self.today()):
            return False
        referral.flag_breach(self.today())
        self.save(referral)
        return True

    # --- lookups ------------------------------------------------------------------------

    def slot(self, slot_id: uuid.UUID) -> Slot:
        return self._get(slot_id, Slot, SlotNotFound)

    def renewal(self, request_id: uuid.UUID) -> RenewalRequest:
        return self._get(request_id, RenewalRequest, RenewalNotFound)

    def referral(self, referral_id: uuid.UUID) -> Referral:
        return self._get(referral_id, Referral, ReferralNotFound)

    def patient(self, citizen_id: uuid.UUID) -> Patient:
        return self._patient(citizen_id)

    def _get(self, aggregate_id: uuid.UUID, kind: type[A], missing: type[LookupError]) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing(f"{kind.__name__} {aggregate_id} not found") from None
        if not isinstance(aggregate, kind):  # an id of another kind of aggregate
            raise missing(f"{kind.__name__} {aggregate_id} not found")
        return aggregate

    def _patient(self, citizen_id: uuid.UUID) -> Patient:
        try:
            patient: Patient = self.repository.get(Patient.create_id(citizen_id))
        except AggregateNotFoundError:
            raise UnknownPatient("citizen not known to requests (yet)") from None
        return patient

    def _patient_or_new(self, citizen_id: uuid.UUID) -> Patient:
        # Topics are ordered per citizen, not across producers: any of them may come first.
        try:
            return self._patient(citizen_id)
        except UnknownPatient:
            return Patient(citizen_id)

    # --- reactions to other services' events (through Kafka only) -----------------------

    @singledispatchmethod
    def handle(self, event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events change nothing here."""

    @handle.register(CitizenRegistered)
    def when_citizen_registered_open_the_patient(
        self,
        event: CitizenRegistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        processing_event.collect_events(self._patient_or_new(event.citizen_id))

    @handle.register(FamilyDoctorAssigned)
    def when_family_doctor_assigned_hand_over_pending_renewals(
        self,
        event: FamilyDoctorAssigned,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        """The new family doctor takes over the citizen's pending renewal requests."""
        patient = self._patient_or_new(event.citizen_id)
        patient.assign_family_doctor(event.practitioner_id, event.health_unit)
        renewals = [self.renewal(uuid.UUID(r)) for r in patient.pending_renewals]
        for renewal in renewals:
            renewal.reassign(event.practitioner_id, event.health_unit)
        processing_event.collect_events(patient, *renewals)

    @handle.register(CitizenDeregistered)
    def when_citizen_deregistered_cancel_what_is_open(
        self,
        event: CitizenDeregistered,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        """Future appointments, pending renewals and open referrals are cancelled."""
        patient = self._patient_or_new(event.citizen_id)
        patient.deregister()
        changed = [
            *self._cancel_future_appointments(patient),
            *self._cancel_pending_renewals(patient),
            *self._cancel_open_referrals(patient),
        ]
        processing_event.collect_events(patient, *changed)

    def _cancel_future_appointments(self, patient: Patient) -> list[Slot]:
        now = self.clock()
        slots = []
        for appointment_id, slot_id in list(patient.appointments.items()):
            slot = self.slot(slot_id)
            if slot.is_upcoming(uuid.UUID(appointment_id), now):
                self._cancel(patient, slot, uuid.UUID(appointment_id), "system", DEREGISTERED)
                slots.append(slot)
        return slots

    def _cancel_pending_renewals(self, patient: Patient) -> list[RenewalRequest]:
        renewals = [self.renewal(uuid.UUID(r)) for r in patient.pending_renewals]
        for renewal in renewals:
            renewal.cancel(DEREGISTERED)
            patient.close_renewal(renewal.id)
        return renewals

    def _cancel_open_referrals(self, patient: Patient) -> list[Referral]:
        referrals = [self.referral(uuid.UUID(r)) for r in sorted(patient.open_referrals)]
        for referral in referrals:
            referral.withdraw(DEREGISTERED)
            patient.close_referral(referral.id)
        return referrals

    @handle.register(HealthSummaryUpdated)
    def when_health_summary_updated_keep_chronic_medications(
        self,
        event: HealthSummaryUpdated,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        patient = self._patient_or_new(event.citizen_id)
        patient.update_medications([m.model_dump() for m in event.chronic_medications])
        processing_event.collect_events(patient)

    @handle.register(PrescriptionIssued)
    def when_prescription_issued_record_it_on_the_renewal(
        self,
        event: PrescriptionIssued,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        """The e-prescription records issued for an approved renewal."""
        if event.renewal_request_id is None:
            return
        try:
            renewal = self.renewal(event.renewal_request_id)
        except RenewalNotFound:
            log.warning("prescription for an unknown renewal request")
            return
        if renewal.citizen_id != event.citizen_id or renewal.status != "approved":
            log.warning("prescription does not answer an approved renewal of this citizen")
            return
        renewal.record_prescription(event.prescription_id, event.prescription_number)
        processing_event.collect_events(renewal)

    @handle.register(ExemptionDecided)
    def when_exemption_decided_grant_or_end_the_exemption(
        self,
        event: ExemptionDecided,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        patient = self._patient_or_new(event.citizen_id)
        if event.decision == "granted":
            patient.grant_exemption(
                event.exemption_id, event.category, event.valid_from, event.valid_until
            )
        else:
            patient.end_exemption(event.exemption_id)
        processing_event.collect_events(patient)

    @handle.register(ExemptionExpired)
    def when_exemption_expired_end_the_exemption(
        self,
        event: ExemptionExpired,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        patient = self._patient_or_new(event.citizen_id)
        patient.end_exemption(event.exemption_id)
        processing_event.collect_events(patient)
