"""Requests' read models in MongoDB, fed from its own log, and the queries over them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_requests.documents import (
    AppointmentDocument,
    PatientDocument,
    ReferralDocument,
    RenewalDocument,
    SlotDocument,
)
from rse_requests.domain.patient import Patient
from rse_requests.domain.referral import Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.rules import exempt_on
from rse_requests.domain.slot import Slot
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import stored

Db = AsyncDatabase[Any]


def set_stored(fields: dict[str, Any]) -> dict[str, Any]:
    # Days as ISO strings, instants as UTC datetimes: the one read-model convention.
    return {"$set": stored(fields)}


def _id(event: Any) -> dict[str, str]:
    return {"_id": str(event.originator_id)}


class Patients:
    """One document per citizen: family doctor, chronic medications, exemptions."""

    name = "patients"
    collections: tuple[str, ...] = ("patients",)

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: Db) -> None:
        """Other events do not change patients."""

    async def _set(self, event: Any, position: int, db: Db, fields: dict[str, Any]) -> None:
        await guarded_upsert(
            db.patients, {"_id": str(event.citizen_id)}, position, set_stored(fields)
        )

    @apply.register(Patient.Opened)
    async def when_patient_opened_start_their_document(
        self, event: Patient.Opened, position: int, db: Db
    ) -> None:
        await self._set(
            event,
            position,
            db,
            {
                "family_doctor": None,
                "chronic_medications": [],
                "exemptions": [],
                "deregistered": False,
            },
        )

    @apply.register(Patient.FamilyDoctorAssigned)
    async def when_family_doctor_assigned_record_the_doctor(
        self, event: Patient.FamilyDoctorAssigned, position: int, db: Db
    ) -> None:
        await self._set(
            event,
            position,
            db,
            {
                "family_doctor": {
                    "practitioner_id": event.practitioner_id,
                    "health_unit": event.health_unit,
                }
            },
        )

    @apply.register(Patient.MedicationsUpdated)
    async def when_medications_updated_replace_them(
        self, event: Patient.MedicationsUpdated, position: int, db: Db
    ) -> None:
        await self._set(event, position, db, {"chronic_medications": event.medications})

    @apply.register(Patient.ExemptionsChanged)
    async def when_exemptions_changed_replace_them(
        self, event: Patient.ExemptionsChanged, position: int, db: Db
    ) -> None:
        await self._set(event, position, db, {"exemptions": event.exemptions})

    @apply.register(Patient.Deregistered)
    async def when_patient_deregistered_mark_them(
        self, event: Patient.Deregistered, position: int, db: Db
    ) -> None:
        await self._set(event, position, db, {"deregistered": True})


class Agenda:
    """Slots (free or booked) per practitioner, and appointments per citizen."""

    name = "agenda"
    collections: tuple[str, ...] = ("slots", "appointments")

    async def ensure_indexes(self, db: Db) -> None:
        await db.slots.create_index([("practitioner_id", 1), ("starts_at", 1)])
        await db.appointments.create_index([("citizen_id", 1), ("starts_at", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: Db) -> None:
        """Other events do not change the agenda."""

    @apply.register(Slot.Opened)
    async def when_slot_opened_add_it_free(self, event: Slot.Opened, position: int, db: Db) -> None:
        await guarded_upsert(
            db.slots,
            _id(event),
            position,
            set_stored(
                {
                    "practitioner_id": event.practitioner_id,
                    "health_unit": event.health_unit,
                    "starts_at": event.starts_at,
                    "duration_minutes": event.duration_minutes,
                    "status": "free",
                    "booking": None,
                }
            ),
        )

    @apply.register(Slot.Booked)
    async def when_slot_booked_add_the_appointment(
        self, event: Slot.Booked, position: int, db: Db
    ) -> None:
        await guarded_upsert(
            db.slots,
            _id(event),
            position,
            set_stored(
                {
                    "status": "booked",
                    "booking": {
                        "appointment_id": str(event.appointment_id),
                        "citizen_id": str(event.citizen_id),
                    },
                }
            ),
        )
        appointment = {"_id": str(event.appointment_id)}
        await guarded_upsert(
            db.appointments,
            appointment,
            position,
            set_stored(
                {
                    "slot_id": str(event.originator_id),
                    "citizen_id": str(event.citizen_id),
                    "practitioner_id": event.practitioner_id,
                    "health_unit": event.health_unit,
                    "starts_at": event.starts_at,
                    "duration_minutes": event.duration_minutes,
                    "status": "booked",
                    "cancelled_by": None,
                    "cancel_reason": None,
                }
            ),
        )

    @apply.register(Slot.Cancelled)
    async def when_slot_cancelled_free_it_and_close_the_appointment(
        self, event: Slot.Cancelled, position: int, db: Db
    ) -> None:
        await guarded_upsert(
            db.slots, _id(event), position, set_stored({"status": "free", "booking": None})
        )
        appointment = {"_id": str(event.appointment_id)}
        await guarded_upsert(
            db.appointments,
            appointment,
            position,
            set_stored(
                {
                    "status": "cancelled",
                    "cancelled_by": event.cancelled_by,
                    "cancel_reason": event.reason,
                }
            ),
        )


class Renewals:
    """One document per renewal request, from the request to the prescription."""

    name = "renewals"
    collections: tuple[str, ...] = ("renewals",)

    async def ensure_indexes(self, db: Db) -> None:
        await db.renewals.create_index("citizen_id")
        await db.renewals.create_index([("practitioner_id", 1), ("status", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: Db) -> None:
        """Other events do not change renewals."""

    async def _set(self, event: Any, position: int, db: Db, fields: dict[str, Any]) -> None:
        await guarded_upsert(db.renewals, _id(event), position, set_stored(fields))

    @apply.register(RenewalRequest.Requested)
    async def when_renewal_requested_add_it_pending(
        self, event: RenewalRequest.Requested, position: int, db: Db
    ) -> None:
        await self._set(
            event,
            position,
            db,
            {
                "citizen_id": str(event.citizen_id),
                "medications": event.medications,
                "practitioner_id": event.practitioner_id,
                "health_unit": event.health_unit,
                "status": "pending",
                "requested_at": event.timestamp,
                "items": [],
                "valid_until": None,
                "reason": None,
                "prescription_id": None,
                "prescription_number": None,
            },
        )

    @apply.register(RenewalRequest.Reassigned)
    async def when_renewal_reassigned_address_the_new_doctor(
        self, event: RenewalRequest.Reassigned, position: int, db: Db
    ) -> None:
        await self._set(
            event,
            position,
            db,
            {"practitioner_id": event.practitioner_id, "health_unit": event.health_unit},
        )

    @apply.register(RenewalRequest.Decided)
    async def when_renewal_decided_record_the_decision(
        self, event: RenewalRequest.Decided, position: int, db: Db
    ) -> None:
        await self._set(
            event,
            position,
            db,
            {
                "status": event.decision,
                "items": event.items,
                "valid_until": event.valid_until,
                "reason": event.reason,
                "decided_at": event.timestamp,
            },
        )

    @apply.register(RenewalRequest.Prescribed)
    async def when_renewal_prescribed_record_the_prescription(
        self, event: RenewalRequest.Prescribed, position: int, db: Db
    ) -> None:
        await self._set(
            event,
            position,
            db,
            {
                "status": "prescribed",
                "prescription_id": str(event.prescription_id),
                "prescription_number": event.prescription_number,
            },
        )

    @apply.register(RenewalRequest.Cancelled)
    async def when_renewal_cancelled_record_why(
        self, event: RenewalRequest.Cancelled, position: int, db: Db
    ) -> None:
        await self._set(event, position, db, {"status": "cancelled", "reason": event.reason})


class Referrals:
    """One document per SIGA referral: status, deadline, TMRG breach flag."""

    name = "referrals"
    collections: tuple[str, ...] = ("referrals",)

    async def ensure_indexes(self, db: Db) -> None:
        await db.referrals.create_index("citizen_id")
        await db.referrals.create_index("practitioner_id")
        await db.referrals.create_index([("status", 1), ("deadline", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: Db) -> None:
        """Other events do not change referrals."""

    @apply.register(Referral.Registered)
    async def when_referral_registered_add_it_with_its_deadline(
        self, event: Referral.Registered, position: int, db: Db
    ) -> None:
        await guarded_upsert(
            db.referrals,
            _id(event),
            position,
            set_stored(
                {
                    "citizen_id": str(event.citizen_id),
                    "specialty": event.specialty,
                    "hospital": event.hospital,
                    "priority": event.priority,
                    "registered_on": event.registered_on,
                    "deadline": event.deadline,
                    "practitioner_id": event.practitioner_id,
                    "health_unit": event.health_unit,
                    "status": "registered",
                    "scheduled_for": None,
                    "reason": None,
                    "tmrg_breached": False,
                }
            ),
        )

    @apply.register(Referral.StatusChanged)
    async def when_referral_status_changed_record_it(
        self, event: Referral.StatusChanged, position: int, db: Db
    ) -> None:
        fields: dict[str, Any] = {
            "status": event.status,
            "scheduled_for": event.scheduled_for,
            "reason": event.reason,
        }
        if event.status == "tmrg_breached":
            fields["tmrg_breached"] = True  # stays flagged once the referral is scheduled
        await guarded_upsert(db.referrals, _id(event), position, set_stored(fields))


PROJECTIONS = (Patients(), Agenda(), Renewals(), Referrals())


# --- queries --------------------------------------------------------------------------


async def _find(cursor: Any) -> list[Any]:
    docs: list[Any] = await cursor.to_list()
    return docs


async def patient_of(db: Db, citizen_id: str) -> PatientDocument | None:
    return PatientDocument.of(await db.patients.find_one({"_id": citizen_id}))


async def exempt_citizens(db: Db, citizen_ids: Iterable[str], today: date) -> set[str]:
    """Which of these citizens an exemption from user fees covers today."""
    ids = sorted(set(citizen_ids))
    if not ids:
        return set()
    found = db.patients.find({"_id": {"$in": ids}}, {"exemptions": 1})
    docs = PatientDocument.all(await _find(found))
    return {d.id for d in docs if exempt_on(d.exemptions, today)}


async def free_slots(
    db: Db, practitioner_id: str, after: datetime, until: datetime
) -> list[SlotDocument]:
    return SlotDocument.all(
        await _find(
            db.slots.find(
                {
                    "practitioner_id": practitioner_id,
                    "status": "free",
                    "starts_at": {"$gt": after, "$lte": until},
                }
            ).sort("starts_at", 1)
        )
    )


async def agenda_of(
    db: Db, practitioner_id: str, start: datetime, end: datetime
) -> list[SlotDocument]:
    return SlotDocument.all(
        await _find(
            db.slots.find(
                {"practitioner_id": practitioner_id, "starts_at": {"$gte": start, "$lt": end}},
            ).sort("starts_at", 1)
        )
    )


async def appointments_of(db: Db, citizen_id: str) -> list[AppointmentDocument]:
    return AppointmentDocument.all(
        await _find(db.appointments.find({"citizen_id": citizen_id}).sort("starts_at", 1))
    )


async def renewals_of(db: Db, citizen_id: str) -> list[RenewalDocument]:
    return RenewalDocument.all(
        await _find(db.renewals.find({"citizen_id": citizen_id}).sort("requested_at", -1))
    )


async def renewal_of(db: Db, citizen_id: str, request_id: str) -> RenewalDocument | None:
    return RenewalDocument.of(
        await db.renewals.find_one({"_id": request_id, "citizen_id": citizen_id})
    )


async def renewals_for(db: Db, practitioner_id: str, status: str) -> list[RenewalDocument]:
    return RenewalDocument.all(
        await _find(
            db.renewals.find({"practitioner_id": practitioner_id, "status": status}).sort(
                "requested_at", 1
            )
        )
    )


async def referrals_of(db: Db, citizen_id: str) -> list[ReferralDocument]:
    return ReferralDocument.all(
        await _find(db.referrals.find({"citizen_id": citizen_id}).sort("deadline", 1))
    )


async def referrals_by(db: Db, practitioner_id: str) -> list[ReferralDocument]:
    return ReferralDocument.all(
        await _find(db.referrals.find({"practitioner_id": practitioner_id}).sort("deadline", 1))
    )


async def breach_due(db: Db, today: date) -> list[str]:
    """Unscheduled referrals whose deadline day has passed (ISO days sort as text)."""
    docs = await _find(
        db.referrals.find({"status": "registered", "deadline": {"$lt": stored(today)}}, {"_id": 1})
    )
    return [str(d["_id"]) for d in docs]
