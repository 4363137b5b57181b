"""The agenda read model: slots per practitioner and the appointments booked on them."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from rse_requests.documents import AppointmentDocument, SlotDocument
from rse_requests.domain.slot import Slot
from rse_requests.projections.store import Db, by_originator, fetch_all, set_stored
from rse_shared.projection import guarded_upsert


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
            by_originator(event),
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
            by_originator(event),
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
            db.slots,
            by_originator(event),
            position,
            set_stored({"status": "free", "booking": None}),
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


async def free_slots(
    db: Db, practitioner_id: str, after: datetime, until: datetime
) -> list[SlotDocument]:
    return SlotDocument.all(
        await fetch_all(
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
        await fetch_all(
            db.slots.find(
                {"practitioner_id": practitioner_id, "starts_at": {"$gte": start, "$lt": end}},
            ).sort("starts_at", 1)
        )
    )


async def appointments_of(db: Db, citizen_id: str) -> list[AppointmentDocument]:
    return AppointmentDocument.all(
        await fetch_all(db.appointments.find({"citizen_id": citizen_id}).sort("starts_at", 1))
    )
