"""Records' read models in MongoDB, fed from its own log: records, consents, accesses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_records.domain.consent_register import ConsentRegister, as_utc
from rse_records.domain.health_record import HealthRecord
from rse_records.domain.record_access import RecordAccess
from rse_shared.projection import guarded_upsert

# Clinical content never leaves records' API for a professional with the codes in it.
CODES = "codes"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


class HealthRecordBook:
    """Each citizen's record: one document per record, vaccination and prescription."""

    name = "health_records"
    collections: tuple[str, ...] = ("records", "vaccinations", "prescriptions")

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.vaccinations.create_index("citizen_id")
        await db.prescriptions.create_index("citizen_id")
        await db.prescriptions.create_index("prescription_number")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that do not change the records."""

    @apply.register(HealthRecord.Opened)
    async def _(self, event: HealthRecord.Opened, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.records, {"_id": str(event.citizen_id)}, position, {"$set": {
            "record_id": str(event.originator_id), "status": "open",
            "sns_number": event.sns_number, "full_name": event.full_name,
            "date_of_birth": event.date_of_birth.isoformat(), "opened_at": event.timestamp,
            "health_summary": {"allergies": [], "chronic_conditions": [],
                               "chronic_medications": [], "updated_by": None,
                               "updated_at": None},
            "care_plan": None,
        }})

    @apply.register(HealthRecord.HealthSummaryUpdated)
    async def _(self, event: HealthRecord.HealthSummaryUpdated, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.records, {"_id": str(event.citizen_id)}, position, {"$set": {
            "health_summary": {"allergies": event.allergies,
                               "chronic_conditions": event.chronic_conditions,
                               "chronic_medications": event.chronic_medications,
                               "updated_by": event.updated_by, "updated_at": event.timestamp},
        }})

    @apply.register(HealthRecord.VaccinationRecorded)
    async def _(self, event: HealthRecord.VaccinationRecorded, position: int,
                db: AsyncDatabase[Any]) -> None:
        key = {"_id": str(event.vaccination_id)}
        await guarded_upsert(db.vaccinations, key, position, {"$set": {
            "citizen_id": str(event.citizen_id), "vaccine": event.vaccine,
            "dose_number": event.dose_number,
            "administered_on": event.administered_on.isoformat(), "lot": event.lot,
            "health_unit": event.health_unit, "recorded_by": event.recorded_by,
        }})

    @apply.register(HealthRecord.CarePlanUpdated)
    async def _(self, event: HealthRecord.CarePlanUpdated, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.records, {"_id": str(event.citizen_id)}, position, {"$set": {
            "care_plan": {"goals": event.goals, "interventions": event.interventions,
                          "responsible_professional": event.responsible_professional,
                          "next_review": _iso(event.next_review),
                          "updated_by": event.updated_by, "updated_at": event.timestamp},
        }})

    @apply.register(HealthRecord.PrescriptionIssued)
    async def _(self, event: HealthRecord.PrescriptionIssued, position: int,
                db: AsyncDatabase[Any]) -> None:
        key = {"_id": str(event.prescription_id)}
        await guarded_upsert(db.prescriptions, key, position, {"$set": {
            "citizen_id": str(event.citizen_id),
            "prescription_number": event.prescription_number, "items": event.items,
            "valid_until": event.valid_until.isoformat(), "prescriber": event.prescriber,
            "issued_at": event.timestamp,
            "renewal_request_id": str(event.renewal_request_id)
            if event.renewal_request_id else None,
            CODES: {"access_code": event.access_code, "choice_code": event.choice_code},
        }})

    @apply.register(HealthRecord.Closed)
    async def _(self, event: HealthRecord.Closed, position: int, db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.records, {"_id": str(event.citizen_id)}, position,
                             {"$set": {"status": "closed", "closed_reason": event.reason}})


class ConsentDirectory:
    """Each consent records holds, to find candidates for a professional's patient list."""

    name = "consent_directory"
    collections: tuple[str, ...] = ("consents",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.consents.create_index("grantee")
        await db.consents.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that do not change the directory."""

    @apply.register(ConsentRegister.Granted)
    async def _(self, event: ConsentRegister.Granted, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.consents, {"_id": str(event.consent_id)}, position, {"$set": {
            "citizen_id": str(event.citizen_id),
            "grantee": grantee_key(event.grantee_kind, event.grantee_id),
            "categories": list(event.categories), "purpose": event.purpose,
            "valid_from": as_utc(event.valid_from),
            "valid_until": as_utc(event.valid_until) if event.valid_until else None,
        }})

    # Endings are flags of their own, so a grant applied after its revocation keeps them.
    @apply.register(ConsentRegister.Revoked)
    async def _(self, event: ConsentRegister.Revoked, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.consents, {"_id": str(event.consent_id)}, position,
                             {"$set": {"citizen_id": str(event.citizen_id), "revoked": True}})

    @apply.register(ConsentRegister.Expired)
    async def _(self, event: ConsentRegister.Expired, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.consents, {"_id": str(event.consent_id)}, position,
                             {"$set": {"citizen_id": str(event.citizen_id), "expired": True}})


class AccessLog:
    """Every professional read of a record, permitted, denied or emergency: metadata only."""

    name = "access_log"
    collections: tuple[str, ...] = ("accesses",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.accesses.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that are not accesses."""

    @apply.register(RecordAccess.Recorded)
    async def _(self, event: RecordAccess.Recorded, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.accesses, {"_id": str(event.originator_id)}, position, {"$set": {
            "citizen_id": str(event.citizen_id), "practitioner_id": event.practitioner_id,
            "health_unit": event.health_unit, "categories": list(event.categories),
            "purpose": event.purpose, "emergency_reason": event.emergency_reason,
            "decision": event.decision,
            "consent_id": str(event.consent_id) if event.consent_id else None,
            "accessed_at": event.accessed_at,
        }})


def grantee_key(kind: str, grantee_id: str | None) -> str:
    """One indexable key per grantee: `professional:P-1`, `health_unit:USF A`, `all_sns:`."""
    return f"{kind}:{grantee_id or ''}"


def grantee_keys(practitioner_id: str, health_unit: str | None) -> list[str]:
    keys = [grantee_key("professional", practitioner_id), grantee_key("all_sns", None)]
    return keys + ([grantee_key("health_unit", health_unit)] if health_unit else [])


# --- queries


async def find_record(db: AsyncDatabase[Any], citizen_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db.records.find_one({"_id": citizen_id})
    return doc


async def vaccinations_of(db: AsyncDatabase[Any], citizen_id: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db.vaccinations.find(
        {"citizen_id": citizen_id}).sort("administered_on", 1).to_list()
    return docs


async def prescriptions_of(db: AsyncDatabase[Any], citizen_id: str, *,
                           with_codes: bool) -> list[dict[str, Any]]:
    """The citizen's prescriptions, newest first; the codes only when asked for (the citizen)."""
    fields = None if with_codes else {CODES: 0}
    docs: list[dict[str, Any]] = await db.prescriptions.find(
        {"citizen_id": citizen_id}, fields).sort("issued_at", -1).to_list()
    return docs


async def candidate_patients(db: AsyncDatabase[Any], practitioner_id: str,
                             health_unit: str | None, limit: int) -> list[str]:
    """Citizens with a consent naming this professional (to be confirmed by the register)."""
    docs = await db.consents.find(
        {"grantee": {"$in": grantee_keys(practitioner_id, health_unit)},
         "revoked": {"$ne": True}, "expired": {"$ne": True}},
        {"citizen_id": 1}).sort("citizen_id", 1).to_list()
    return _distinct([str(d["citizen_id"]) for d in docs])[:limit]


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


async def records_of(db: AsyncDatabase[Any], citizen_ids: list[str]) -> dict[str, dict[str, Any]]:
    docs = await db.records.find({"_id": {"$in": citizen_ids}},
                                 {"full_name": 1, "sns_number": 1}).to_list()
    return {str(d["_id"]): d for d in docs}


async def accesses_of(db: AsyncDatabase[Any], citizen_id: str, limit: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db.accesses.find(
        {"citizen_id": citizen_id}).sort("accessed_at", -1).limit(limit).to_list()
    return docs
