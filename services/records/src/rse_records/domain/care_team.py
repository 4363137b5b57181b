"""Who cares for a citizen, as records learns it: the family doctor and open referrals."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event

from rse_shared.eventstore import natural_id

# A referral's hospital stays in the care team until the referral is done with.
CLOSING_STATUSES = frozenset({"completed", "cancelled"})


class CareTeam(Aggregate):
    """One per citizen, fed by identity (family doctor) and requests (referrals)."""

    class Opened(Aggregate.Created):
        citizen_id: uuid.UUID

    class FamilyDoctorAssigned(Aggregate.Event):
        citizen_id: uuid.UUID
        practitioner_id: str
        health_unit: str

    class ReferralOpened(Aggregate.Event):
        citizen_id: uuid.UUID
        referral_id: uuid.UUID
        hospital: str

    class ReferralClosed(Aggregate.Event):
        citizen_id: uuid.UUID
        referral_id: uuid.UUID
        status: str

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("care-team", str(citizen_id))

    @event(Opened)
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id
        self.family_doctor: str | None = None
        self.health_unit: str | None = None
        self.referrals: dict[uuid.UUID, str] = {}
        self.closed: set[uuid.UUID] = set()

    def open_hospitals(self) -> frozenset[str]:
        """The hospitals of the citizen's referrals still open."""
        return frozenset(h for r, h in self.referrals.items() if r not in self.closed)

    def assign_family_doctor(self, practitioner_id: str, health_unit: str) -> None:
        self._family_doctor_assigned(
            citizen_id=self.citizen_id, practitioner_id=practitioner_id, health_unit=health_unit
        )

    @event(FamilyDoctorAssigned)
    def _family_doctor_assigned(
        self, citizen_id: uuid.UUID, practitioner_id: str, health_unit: str
    ) -> None:
        self.family_doctor = practitioner_id
        self.health_unit = health_unit

    def open_referral(self, referral_id: uuid.UUID, hospital: str) -> None:
        if referral_id not in self.referrals:  # a redelivery changes nothing
            self._referral_opened(
                citizen_id=self.citizen_id, referral_id=referral_id, hospital=hospital
            )

    @event(ReferralOpened)
    def _referral_opened(
        self, citizen_id: uuid.UUID, referral_id: uuid.UUID, hospital: str
    ) -> None:
        self.referrals[referral_id] = hospital

    # A closing is kept even before its registration arrives, so the referral never opens.
    def change_referral(self, referral_id: uuid.UUID, status: str) -> None:
        if status in CLOSING_STATUSES and referral_id not in self.closed:
            self._referral_closed(
                citizen_id=self.citizen_id, referral_id=referral_id, status=status
            )

    @event(ReferralClosed)
    def _referral_closed(self, citizen_id: uuid.UUID, referral_id: uuid.UUID, status: str) -> None:
        self.closed.add(referral_id)
