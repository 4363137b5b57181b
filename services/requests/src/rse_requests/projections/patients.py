"""The patients read model: family doctor, chronic medications, exemptions per citizen."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import singledispatchmethod
from typing import Any

from rse_requests.documents import PatientDocument
from rse_requests.domain.patient import Patient
from rse_requests.domain.rules import exempt_on
from rse_requests.projections.store import Db, set_stored
from rse_shared.projection import guarded_upsert
from rse_shared.readmodel import find_each


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


async def patient_of(db: Db, citizen_id: str) -> PatientDocument | None:
    return PatientDocument.of(await db.patients.find_one({"_id": citizen_id}))


async def exempt_citizens(db: Db, citizen_ids: Iterable[str], today: date) -> set[str]:
    """Which of these citizens an exemption from user fees covers today."""
    ids = sorted(set(citizen_ids))
    if not ids:
        return set()
    docs = PatientDocument.all(await find_each(db.patients, "_id", ids, None, {"exemptions": 1}))
    return {d.id for d in docs if exempt_on(d.exemptions, today)}
