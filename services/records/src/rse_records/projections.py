"""Records' read models in MongoDB, fed from its own log: records, consents, accesses."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_records.domain.consent_register import ConsentRegister, as_utc
from rse_records.domain.health_record import HealthRecord
from rse_records.domain.record_access import RecordAccess
from rse_records.prescription_codes import opened_codes, sealed_codes
from rse_records.read_models import (
    CODES,
    AccessDocument,
    ConsentDocument,
    PrescriptionDocument,
    RecordDocument,
    VaccinationDocument,
    grantee_key,
    grantee_keys,
)
from rse_shared.eventstore import in_thread
from rse_shared.keyring import Keyring
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import find_each, stored


class NotVisible(LookupError):
    """Not (yet) in the read model."""


async def _set(
    db: AsyncDatabase[Any], collection: str, key: str, position: int, fields: dict[str, Any]
) -> None:
    """Upsert `fields` (stored by the one time convention) unless `position` was applied."""
    await guarded_upsert(db[collection], {"_id": key}, position, {"$set": stored(fields)})


class HealthRecordBook:
    """Each citizen's record: one document per record, vaccination and prescription.

    A prescription's codes are a bearer secret (they dispense it at any pharmacy): the read
    model keeps them sealed under the citizen's data key, opened only for the citizen's own
    read, and gone with the key when the citizen is erased. Without a keyring (unit tests,
    events stored in clear) they are kept as they are.
    """

    def __init__(self, keyring: Keyring | None = None) -> None:
        self.keyring = keyring

    name = "health_records"
    collections: tuple[str, ...] = ("records", "vaccinations", "prescriptions")
    handles = (
        HealthRecord.Opened,
        HealthRecord.HealthSummaryUpdated,
        HealthRecord.VaccinationRecorded,
        HealthRecord.CarePlanUpdated,
        HealthRecord.PrescriptionIssued,
        HealthRecord.Closed,
    )

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.vaccinations.create_index("citizen_id")
        await db.prescriptions.create_index("citizen_id")
        await db.prescriptions.create_index("prescription_number")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that do not change the records."""

    @apply.register(HealthRecord.Opened)
    async def when_record_opened_add_an_empty_record(
        self,
        event: HealthRecord.Opened,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "records",
            str(event.citizen_id),
            position,
            {
                "record_id": str(event.originator_id),
                "status": "open",
                "sns_number": event.sns_number,
                "full_name": event.full_name,
                "opened_at": event.timestamp,
                "health_summary": {
                    "allergies": [],
                    "chronic_conditions": [],
                    "chronic_medications": [],
                    "updated_by": None,
                    "updated_at": None,
                },
                "care_plan": None,
            },
        )

    @apply.register(HealthRecord.HealthSummaryUpdated)
    async def when_summary_updated_replace_the_summary(
        self,
        event: HealthRecord.HealthSummaryUpdated,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "records",
            str(event.citizen_id),
            position,
            {
                "health_summary": {
                    "allergies": event.allergies,
                    "chronic_conditions": event.chronic_conditions,
                    "chronic_medications": event.chronic_medications,
                    "updated_by": event.updated_by,
                    "updated_at": event.timestamp,
                },
            },
        )

    @apply.register(HealthRecord.VaccinationRecorded)
    async def when_vaccination_recorded_add_the_dose(
        self,
        event: HealthRecord.VaccinationRecorded,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "vaccinations",
            str(event.vaccination_id),
            position,
            {
                "citizen_id": str(event.citizen_id),
                "vaccine": event.vaccine,
                "dose_number": event.dose_number,
                "administered_on": event.administered_on,
                "lot": event.lot,
                "health_unit": event.health_unit,
                "recorded_by": event.recorded_by,
            },
        )

    @apply.register(HealthRecord.CarePlanUpdated)
    async def when_care_plan_updated_replace_the_plan(
        self,
        event: HealthRecord.CarePlanUpdated,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "records",
            str(event.citizen_id),
            position,
            {
                "care_plan": {
                    "goals": event.goals,
                    "interventions": event.interventions,
                    "responsible_professional": event.responsible_professional,
                    "next_review": event.next_review,
                    "updated_by": event.updated_by,
                    "updated_at": event.timestamp,
                },
            },
        )

    @apply.register(HealthRecord.PrescriptionIssued)
    async def when_prescription_issued_add_it_with_its_codes(
        self,
        event: HealthRecord.PrescriptionIssued,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        renewal = event.renewal_request_id
        codes = await in_thread(sealed_codes, self.keyring, event)
        await _set(
            db,
            "prescriptions",
            str(event.prescription_id),
            position,
            {
                "citizen_id": str(event.citizen_id),
                "prescription_number": event.prescription_number,
                "items": event.items,
                "valid_until": event.valid_until,
                "prescriber": event.prescriber,
                "issued_at": event.timestamp,
                "renewal_request_id": str(renewal) if renewal else None,
                CODES: codes,
            },
        )

    @apply.register(HealthRecord.Closed)
    async def when_record_closed_mark_it_closed(
        self,
        event: HealthRecord.Closed,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "records",
            str(event.citizen_id),
            position,
            {"status": "closed", "closed_reason": event.reason},
        )


class ConsentDirectory:
    """Each consent records holds, to find candidates for a professional's patient list."""

    name = "consent_directory"
    collections: tuple[str, ...] = ("consents",)
    handles = (ConsentRegister.Granted, ConsentRegister.Revoked, ConsentRegister.Expired)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.consents.create_index("grantee")
        await db.consents.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that do not change the directory."""

    @apply.register(ConsentRegister.Granted)
    async def when_consent_granted_list_its_grantee(
        self,
        event: ConsentRegister.Granted,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "consents",
            str(event.consent_id),
            position,
            {
                "citizen_id": str(event.citizen_id),
                "grantee": grantee_key(event.grantee_kind, event.grantee_id),
                "categories": list(event.categories),
                "purpose": event.purpose,
                "valid_from": as_utc(event.valid_from),
                "valid_until": as_utc(event.valid_until) if event.valid_until else None,
            },
        )

    # Endings are flags of their own, so a grant applied after its revocation keeps them.
    @apply.register(ConsentRegister.Revoked)
    async def when_consent_revoked_flag_it_revoked(
        self,
        event: ConsentRegister.Revoked,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _flag_consent(db, event, position, "revoked")

    @apply.register(ConsentRegister.Expired)
    async def when_consent_expired_flag_it_expired(
        self,
        event: ConsentRegister.Expired,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _flag_consent(db, event, position, "expired")


async def _flag_consent(
    db: AsyncDatabase[Any],
    event: ConsentRegister.Revoked | ConsentRegister.Expired,
    position: int,
    flag: str,
) -> None:
    """Mark how a consent ended (its own flag, so a later-applied grant keeps it)."""
    await _set(
        db,
        "consents",
        str(event.consent_id),
        position,
        {"citizen_id": str(event.citizen_id), flag: True},
    )


class AccessLog:
    """Every access to a record (read, write, list), permitted, denied or emergency: metadata."""

    name = "access_log"
    collections: tuple[str, ...] = ("accesses",)
    handles = (RecordAccess.Recorded,)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.accesses.create_index("citizen_id")

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that are not accesses."""

    @apply.register(RecordAccess.Recorded)
    async def when_access_recorded_log_it(
        self,
        event: RecordAccess.Recorded,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            "accesses",
            str(event.originator_id),
            position,
            {
                "citizen_id": str(event.citizen_id),
                "practitioner_id": event.practitioner_id,
                "health_unit": event.health_unit,
                "categories": list(event.categories),
                "purpose": event.purpose,
                "emergency_reason": event.emergency_reason,
                "decision": event.decision,
                "consent_id": str(event.consent_id) if event.consent_id else None,
                "accessed_at": event.accessed_at,
                "action": event.action,
                "role": event.role,
                "actor_id": event.actor_id,
                "entries": list(event.entries or []),
                "relationship": event.relationship,
            },
        )


# --- queries: typed documents, never raw dicts


async def find_record(db: AsyncDatabase[Any], citizen_id: str) -> RecordDocument | None:
    return RecordDocument.of(await db.records.find_one({"_id": citizen_id}))


async def vaccinations_of(db: AsyncDatabase[Any], citizen_id: str) -> list[VaccinationDocument]:
    """The citizen's vaccination bulletin, oldest dose first."""
    return VaccinationDocument.all(
        await db.vaccinations.find({"citizen_id": citizen_id}).sort("administered_on", 1).to_list()
    )


async def prescriptions_of(
    db: AsyncDatabase[Any],
    citizen_id: str,
    *,
    with_codes: bool,
    keyring: Keyring | None = None,
) -> list[PrescriptionDocument]:
    """The citizen's prescriptions, newest first; the codes only when asked for (the
    citizen's own read), opened with `keyring` where the read model keeps them sealed."""
    fields = None if with_codes else {CODES: 0}
    found = (
        await db.prescriptions.find({"citizen_id": citizen_id}, fields)
        .sort("issued_at", -1)
        .to_list()
    )
    for document in found:
        if with_codes and isinstance(document.get(CODES), str):
            document[CODES] = await in_thread(opened_codes, keyring, document)
    return PrescriptionDocument.all(found)


async def candidate_patients(
    db: AsyncDatabase[Any], practitioner_id: str, health_unit: str | None, limit: int
) -> list[str]:
    """Citizens with a consent naming this professional or their unit (to be confirmed by
    the register); all-SNS consents list no one."""
    live = {"revoked": {"$ne": True}, "expired": {"$ne": True}}
    found = await find_each(
        db.consents, "grantee", grantee_keys(practitioner_id, health_unit), live
    )
    consents = sorted(ConsentDocument.all(found), key=lambda c: c.citizen_id)
    return list(dict.fromkeys(c.citizen_id for c in consents))[:limit]


async def records_of(db: AsyncDatabase[Any], citizen_ids: list[str]) -> dict[str, RecordDocument]:
    """The records of these citizens, by citizen id (those records knows of)."""
    found = RecordDocument.all(await find_each(db.records, "_id", citizen_ids))
    return {record.id: record for record in found}


async def accesses_of(db: AsyncDatabase[Any], citizen_id: str, limit: int) -> list[AccessDocument]:
    """The accesses to the citizen's record, newest first."""
    return AccessDocument.all(
        await db.accesses.find({"citizen_id": citizen_id})
        .sort("accessed_at", -1)
        .limit(limit)
        .to_list()
    )
