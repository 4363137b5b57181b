"""Identity's read models in MongoDB: the citizen directory."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Literal

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from rse_identity.domain.citizen import Citizen, DeregistrationReason
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import Day, Document, Instant, stored


class FamilyDoctorEntry(BaseModel):
    """The family doctor the directory holds for a citizen."""

    practitioner_id: str
    health_unit: str


class DeregistrationEntry(BaseModel):
    """Why and from when a citizen left the register."""

    reason: DeregistrationReason
    effective_date: Day


class CitizenDocument(Document):
    """A citizen in the directory: personal data, family doctor, status."""

    sns_number: str
    nif: str
    full_name: str
    date_of_birth: Day
    email: str
    phone: str
    address: str
    status: Literal["registered", "deregistered"]
    family_doctor: FamilyDoctorEntry | None = None
    registered_at: Instant
    deregistration: DeregistrationEntry | None = None


class CitizenDirectory:
    """One document per citizen: personal data, family doctor, status."""

    name = "citizen_directory"
    collections: tuple[str, ...] = ("citizens",)

    async def ensure_indexes(self, db: AsyncDatabase[Any]) -> None:
        await db.citizens.create_index("sns_number", unique=True)

    @singledispatchmethod
    async def apply(self, event: Any, position: int, db: AsyncDatabase[Any]) -> None:
        """Events that do not change the directory."""

    @apply.register(Citizen.Registered)
    async def when_citizen_registered_add_to_directory(
        self,
        event: Citizen.Registered,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(
            db,
            event,
            position,
            {
                "sns_number": event.sns_number,
                "nif": event.nif,
                "full_name": event.full_name,
                "date_of_birth": event.date_of_birth,
                "email": event.email,
                "phone": event.phone,
                "address": event.address,
                "status": "registered",
                "family_doctor": None,
                "registered_at": event.timestamp,
            },
        )

    @apply.register(Citizen.PersonalDataUpdated)
    async def when_personal_data_updated_update_entry(
        self,
        event: Citizen.PersonalDataUpdated,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        await _set(db, event, position, dict(event.changed))

    @apply.register(Citizen.FamilyDoctorAssigned)
    async def when_family_doctor_assigned_record_doctor(
        self,
        event: Citizen.FamilyDoctorAssigned,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        doctor = FamilyDoctorEntry(
            practitioner_id=event.practitioner_id, health_unit=event.health_unit
        )
        await _set(db, event, position, {"family_doctor": doctor.model_dump()})

    @apply.register(Citizen.Deregistered)
    async def when_citizen_deregistered_mark_deregistered(
        self,
        event: Citizen.Deregistered,
        position: int,
        db: AsyncDatabase[Any],
    ) -> None:
        deregistration = DeregistrationEntry(
            reason=event.reason, effective_date=event.effective_date
        )
        await _set(
            db,
            event,
            position,
            {"status": "deregistered", "deregistration": deregistration.model_dump()},
        )


async def _set(db: AsyncDatabase[Any], event: Any, position: int, fields: dict[str, Any]) -> None:
    await guarded_upsert(
        db.citizens, {"_id": str(event.originator_id)}, position, {"$set": stored(fields)}
    )


async def find_citizen(db: AsyncDatabase[Any], citizen_id: str) -> CitizenDocument | None:
    """The citizen's directory entry, if the projection has it."""
    return CitizenDocument.of(await db.citizens.find_one({"_id": citizen_id}))
