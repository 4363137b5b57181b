"""Requests' read models in MongoDB, fed from its own log, and the queries over them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_requests.domain.patient import Patient
from rse_requests.domain.referral import Referral
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.domain.rules import exempt_on
from rse_requests.domain.slot import Slot
from rse_shared.projection import guarded_upsert

Doc = dict[str, Any]


def _iso(value: date | None) -> str | None:
    # BSON has no date type; ISO dates also sort and compare as text.
    return value.isoformat() if value else None


def _id(event: Any) -> dict[str, str]:
    return {"_id": str(event.originator_id)}


class Patients:
    """One document per citizen: family doctor, chronic medications, exemptions."""

    name = "patients"
    collections: tuple[str, ...] = ("patients",)

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Other events do not change patients."""

    async def _set(self, event: Any, position: int, db: AsyncDatabase[Any],
                   fields: Doc) -> None:
        await guarded_upsert(db.patients, {"_id": str(event.citizen_id)}, position,
                             {"$set": fields})

    @apply.register(Patient.Opened)
    async def _(self, event: Patient.Opened, position: int, db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"family_doctor": None, "chronic_medications": [],
                                              "exemptions": [], "deregistered": False})

    @apply.register(Patient.FamilyDoctorAssigned)
    async def _(self, event: Patient.FamilyDoctorAssigned, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"family_doctor": {
            "practitioner_id": event.practitioner_id, "health_unit": event.health_unit}})

    @apply.register(Patient.MedicationsUpdated)
    async def _(self, event: Patient.MedicationsUpdated, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"chronic_medications": event.medications})

    @apply.register(Patient.ExemptionsChanged)
    async def _(self, event: Patient.ExemptionsChanged, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"exemptions": event.exemptions})

    @apply.register(Patient.Deregistered)
    async def _(self, event: Patient.Deregistered, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"deregistered": True})


class Agenda:
    """Slots (free or booked) per practitioner, and appointments per citizen."""

    name = "agenda"
    collections: tuple[str, ...] = ("slots", "appointments")

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.slots.create_index([("practitioner_id", 1), ("starts_at", 1)])
        await db.appointments.create_index([("citizen_id", 1), ("starts_at", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Other events do not change the agenda."""

    @apply.register(Slot.Opened)
    async def _(self, event: Slot.Opened, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.slots, _id(event), position, {"$set": {
            "practitioner_id": event.practitioner_id, "health_unit": event.health_unit,
            "starts_at": event.starts_at, "duration_minutes": event.duration_minutes,
            "status": "free", "booking": None}})

    @apply.register(Slot.Booked)
    async def _(self, event: Slot.Booked, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.slots, _id(event), position, {"$set": {
            "status": "booked", "booking": {"appointment_id": str(event.appointment_id),
                                            "citizen_id": str(event.citizen_id)}}})
        await guarded_upsert(db.appointments, {"_id": str(event.appointment_id)}, position, {
            "$set": {"slot_id": str(event.originator_id), "citizen_id": str(event.citizen_id),
                     "practitioner_id": event.practitioner_id,
                     "health_unit": event.health_unit, "starts_at": event.starts_at,
                     "duration_minutes": event.duration_minutes, "status": "booked",
                     "cancelled_by": None, "cancel_reason": None}})

    @apply.register(Slot.Cancelled)
    async def _(self, event: Slot.Cancelled, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.slots, _id(event), position,
                             {"$set": {"status": "free", "booking": None}})
        await guarded_upsert(db.appointments, {"_id": str(event.appointment_id)}, position, {
            "$set": {"status": "cancelled", "cancelled_by": event.cancelled_by,
                     "cancel_reason": event.reason}})


class Renewals:
    """One document per renewal request, from the request to the prescription."""

    name = "renewals"
    collections: tuple[str, ...] = ("renewals",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.renewals.create_index("citizen_id")
        await db.renewals.create_index([("practitioner_id", 1), ("status", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Other events do not change renewals."""

    async def _set(self, event: Any, position: int, db: AsyncDatabase[Any],
                   fields: Doc) -> None:
        await guarded_upsert(db.renewals, _id(event), position, {"$set": fields})

    @apply.register(RenewalRequest.Requested)
    async def _(self, event: RenewalRequest.Requested, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {
            "citizen_id": str(event.citizen_id), "medications": event.medications,
            "practitioner_id": event.practitioner_id, "health_unit": event.health_unit,
            "status": "pending", "requested_at": event.timestamp, "items": [],
            "valid_until": None, "reason": None, "prescription_id": None,
            "prescription_number": None})

    @apply.register(RenewalRequest.Reassigned)
    async def _(self, event: RenewalRequest.Reassigned, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"practitioner_id": event.practitioner_id,
                                              "health_unit": event.health_unit})

    @apply.register(RenewalRequest.Decided)
    async def _(self, event: RenewalRequest.Decided, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {
            "status": event.decision, "items": event.items,
            "valid_until": _iso(event.valid_until), "reason": event.reason,
            "decided_at": event.timestamp})

    @apply.register(RenewalRequest.Prescribed)
    async def _(self, event: RenewalRequest.Prescribed, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {
            "status": "prescribed", "prescription_id": str(event.prescription_id),
            "prescription_number": event.prescription_number})

    @apply.register(RenewalRequest.Cancelled)
    async def _(self, event: RenewalRequest.Cancelled, position: int,
                db: AsyncDatabase[Any]) -> None:
        await self._set(event, position, db, {"status": "cancelled", "reason": event.reason})


class Referrals:
    """One document per SIGA referral: status, deadline, TMRG breach flag."""

    name = "referrals"
    collections: tuple[str, ...] = ("referrals",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.referrals.create_index("citizen_id")
        await db.referrals.create_index("practitioner_id")
        await db.referrals.create_index([("status", 1), ("deadline", 1)])

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Other events do not change referrals."""

    @apply.register(Referral.Registered)
    async def _(self, event: Referral.Registered, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.referrals, _id(event), position, {"$set": {
            "citizen_id": str(event.citizen_id), "specialty": event.specialty,
            "hospital": event.hospital, "priority": event.priority,
            "registered_on": _iso(event.registered_on), "deadline": _iso(event.deadline),
            "practitioner_id": event.practitioner_id, "health_unit": event.health_unit,
            "status": "registered", "scheduled_for": None, "reason": None,
            "tmrg_breached": False}})

    @apply.register(Referral.StatusChanged)
    async def _(self, event: Referral.StatusChanged, position: int,
                db: AsyncDatabase[Any]) -> None:
        fields: Doc = {"status": event.status, "scheduled_for": _iso(event.scheduled_for),
                       "reason": event.reason}
        if event.status == "tmrg_breached":
            fields["tmrg_breached"] = True  # stays flagged once the referral is scheduled
        await guarded_upsert(db.referrals, _id(event), position, {"$set": fields})


PROJECTIONS = (Patients(), Agenda(), Renewals(), Referrals())


# --- queries --------------------------------------------------------------------------


async def _find(cursor: Any) -> list[Doc]:
    docs: list[Doc] = await cursor.to_list()
    return docs


async def patient_of(db: AsyncDatabase[Any], citizen_id: str) -> Doc | None:
    doc: Doc | None = await db.patients.find_one({"_id": citizen_id})
    return doc


async def exempt_citizens(db: AsyncDatabase[Any], citizen_ids: Iterable[str],
                          today: date) -> set[str]:
    """Which of these citizens an exemption from user fees covers today."""
    ids = sorted(set(citizen_ids))
    if not ids:
        return set()
    docs = await _find(db.patients.find({"_id": {"$in": ids}}, {"exemptions": 1}))
    return {d["_id"] for d in docs if exempt_on(d.get("exemptions") or [], today)}


async def free_slots(db: AsyncDatabase[Any], practitioner_id: str, after: datetime,
                     until: datetime) -> list[Doc]:
    return await _find(db.slots.find(
        {"practitioner_id": practitioner_id, "status": "free",
         "starts_at": {"$gt": after, "$lte": until}}).sort("starts_at", 1))


async def agenda_of(db: AsyncDatabase[Any], practitioner_id: str, start: datetime,
                    end: datetime) -> list[Doc]:
    return await _find(db.slots.find(
        {"practitioner_id": practitioner_id, "starts_at": {"$gte": start, "$lt": end}},
    ).sort("starts_at", 1))


async def appointments_of(db: AsyncDatabase[Any], citizen_id: str) -> list[Doc]:
    return await _find(db.appointments.find({"citizen_id": citizen_id}).sort("starts_at", 1))


async def renewals_of(db: AsyncDatabase[Any], citizen_id: str) -> list[Doc]:
    return await _find(db.renewals.find({"citizen_id": citizen_id}).sort("requested_at", -1))


async def renewal_of(db: AsyncDatabase[Any], citizen_id: str, request_id: str) -> Doc | None:
    doc: Doc | None = await db.renewals.find_one({"_id": request_id, "citizen_id": citizen_id})
    return doc


async def renewals_for(db: AsyncDatabase[Any], practitioner_id: str, status: str) -> list[Doc]:
    return await _find(db.renewals.find(
        {"practitioner_id": practitioner_id, "status": status}).sort("requested_at", 1))


async def referrals_of(db: AsyncDatabase[Any], citizen_id: str) -> list[Doc]:
    return await _find(db.referrals.find({"citizen_id": citizen_id}).sort("deadline", 1))


async def referrals_by(db: AsyncDatabase[Any], practitioner_id: str) -> list[Doc]:
    return await _find(db.referrals.find(
        {"practitioner_id": practitioner_id}).sort("deadline", 1))


async def breach_due(db: AsyncDatabase[Any], today: date) -> list[str]:
    """Unscheduled referrals whose deadline day has passed (ISO dates sort as text)."""
    docs = await _find(db.referrals.find(
        {"status": "registered", "deadline": {"$lt": today.isoformat()}}, {"_id": 1}))
    return [str(d["_id"]) for d in docs]
