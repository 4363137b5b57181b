"""Identity's read models in MongoDB: the citizen directory."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rse_identity.domain.citizen import Citizen
from rse_shared.projection import guarded_upsert


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
    async def _(self, event: Citizen.Registered, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.citizens, {"_id": str(event.originator_id)}, position, {"$set": {
            "sns_number": event.sns_number, "nif": event.nif, "full_name": event.full_name,
            "date_of_birth": event.date_of_birth.isoformat(), "email": event.email,
            "phone": event.phone, "address": event.address, "status": "registered",
            "family_doctor": None, "registered_at": event.timestamp.isoformat(),
        }})

    @apply.register(Citizen.PersonalDataUpdated)
    async def _(self, event: Citizen.PersonalDataUpdated, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.citizens, {"_id": str(event.originator_id)}, position,
                             {"$set": dict(event.changed)})

    @apply.register(Citizen.FamilyDoctorAssigned)
    async def _(self, event: Citizen.FamilyDoctorAssigned, position: int,
                db: AsyncDatabase[Any]) -> None:
        doctor = {"practitioner_id": event.practitioner_id, "health_unit": event.health_unit}
        await guarded_upsert(db.citizens, {"_id": str(event.originator_id)}, position,
                             {"$set": {"family_doctor": doctor}})

    @apply.register(Citizen.Deregistered)
    async def _(self, event: Citizen.Deregistered, position: int,
                db: AsyncDatabase[Any]) -> None:
        await guarded_upsert(db.citizens, {"_id": str(event.originator_id)}, position, {"$set": {
            "status": "deregistered",
            "deregistration": {"reason": event.reason,
                               "effective_date": event.effective_date.isoformat()},
        }})


async def find_citizen(db: AsyncDatabase[Any], citizen_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db.citizens.find_one({"_id": citizen_id})
    return doc
