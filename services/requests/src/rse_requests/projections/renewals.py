"""The renewals read model: each chronic-medication renewal request, up to its prescription."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from rse_requests.documents import RenewalDocument
from rse_requests.domain.renewal import RenewalRequest
from rse_requests.projections.store import Db, by_originator, fetch_all, set_stored
from rse_shared.projection import guarded_upsert


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
        await guarded_upsert(db.renewals, by_originator(event), position, set_stored(fields))

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


async def renewals_of(db: Db, citizen_id: str) -> list[RenewalDocument]:
    return RenewalDocument.all(
        await fetch_all(db.renewals.find({"citizen_id": citizen_id}).sort("requested_at", -1))
    )


async def renewal_of(db: Db, citizen_id: str, request_id: str) -> RenewalDocument | None:
    return RenewalDocument.of(
        await db.renewals.find_one({"_id": request_id, "citizen_id": citizen_id})
    )


async def renewals_for(db: Db, practitioner_id: str, status: str) -> list[RenewalDocument]:
    return RenewalDocument.all(
        await fetch_all(
            db.renewals.find({"practitioner_id": practitioner_id, "status": status}).sort(
                "requested_at", 1
            )
        )
    )
