"""A citizen's consents, as records knows them: its own copy of what consent published."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypedDict

from eventsourcing.domain import Aggregate, event

from rse_shared.contracts.consent import Category, GranteeKind
from rse_shared.eventstore import natural_id

Ending = Literal["revoked", "expired"]


class ConsentSource(TypedDict):
    """The consent.events record a register change came from, for an auditor to look up."""

    topic: str
    partition: int
    offset: int
    chain_hash: str | None


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime (a naive one is read as UTC), so comparisons never fail."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class ConsentTerms:
    """Who a consent authorises, to read which categories, for what, and when."""

    consent_id: uuid.UUID
    grantee_kind: GranteeKind
    grantee_id: str | None
    categories: frozenset[Category]
    purpose: str
    valid_from: datetime
    valid_until: datetime | None

    def is_valid_at(self, now: datetime) -> bool:
        """Within its validity: from `valid_from` (inclusive) to `valid_until` (exclusive)."""
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)

    def names(self, practitioner_id: str | None, health_unit: str | None) -> bool:
        """The grantee is this professional, their health unit, or every SNS professional."""
        if self.grantee_kind == "all_sns":
            return True
        reader = practitioner_id if self.grantee_kind == "professional" else health_unit
        return reader is not None and self.grantee_id == reader

    def covers(self, categories: Iterable[Category]) -> bool:
        return set(categories) <= self.categories


class ConsentRegister(Aggregate):
    """One per citizen: every consent granted and whether it was revoked or expired."""

    # Consent terms are access metadata, not personal or clinical values: they stay under
    # records' store key, so the auditor's provenance check opens them with that key alone
    # and they stay verifiable after the citizen's erasure.
    store_keyed = True

    # Each event names its citizen, so it stands alone in a projection or an audit replay.
    class Opened(Aggregate.Created):
        citizen_id: uuid.UUID

    class Granted(Aggregate.Event):
        citizen_id: uuid.UUID
        consent_id: uuid.UUID
        grantee_kind: GranteeKind
        grantee_id: str | None
        categories: list[Category]
        purpose: str
        valid_from: datetime
        valid_until: datetime | None
        # Where on consent.events the change came from; None in events stored before.
        source: ConsentSource | None = None

    class Revoked(Aggregate.Event):
        citizen_id: uuid.UUID
        consent_id: uuid.UUID
        revoked_at: datetime
        source: ConsentSource | None = None

    class Expired(Aggregate.Event):
        citizen_id: uuid.UUID
        consent_id: uuid.UUID
        expired_at: datetime
        source: ConsentSource | None = None

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("consent-register", str(citizen_id))

    @event(Opened)
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id
        self.grants: dict[uuid.UUID, ConsentTerms] = {}
        self.ended: dict[uuid.UUID, Ending] = {}

    def in_force(self) -> list[ConsentTerms]:
        """Granted and neither revoked nor expired (validity dates aside)."""
        return [terms for consent_id, terms in self.grants.items() if consent_id not in self.ended]

    def grant(
        self,
        consent_id: uuid.UUID,
        grantee_kind: GranteeKind,
        grantee_id: str | None,
        categories: list[Category],
        purpose: str,
        valid_from: datetime,
        valid_until: datetime | None,
        source: ConsentSource | None = None,
    ) -> None:
        self._granted(
            citizen_id=self.citizen_id,
            consent_id=consent_id,
            grantee_kind=grantee_kind,
            grantee_id=grantee_id,
            categories=list(categories),
            purpose=purpose,
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
        )

    @event(Granted)
    def _granted(
        self,
        citizen_id: uuid.UUID,
        consent_id: uuid.UUID,
        grantee_kind: GranteeKind,
        grantee_id: str | None,
        categories: list[Category],
        purpose: str,
        valid_from: datetime,
        valid_until: datetime | None,
        source: ConsentSource | None = None,
    ) -> None:
        self.grants[consent_id] = ConsentTerms(
            consent_id,
            grantee_kind,
            grantee_id,
            frozenset(categories),
            purpose,
            as_utc(valid_from),
            as_utc(valid_until) if valid_until else None,
        )

    # An ending is kept even for a consent not (yet) granted here, so a grant that arrives
    # after its own revocation can never come into force.
    def revoke(
        self, consent_id: uuid.UUID, revoked_at: datetime, source: ConsentSource | None = None
    ) -> None:
        self._revoked(
            citizen_id=self.citizen_id, consent_id=consent_id, revoked_at=revoked_at, source=source
        )

    @event(Revoked)
    def _revoked(
        self,
        citizen_id: uuid.UUID,
        consent_id: uuid.UUID,
        revoked_at: datetime,
        source: ConsentSource | None = None,
    ) -> None:
        self.ended.setdefault(consent_id, "revoked")

    def expire(
        self, consent_id: uuid.UUID, expired_at: datetime, source: ConsentSource | None = None
    ) -> None:
        self._expired(
            citizen_id=self.citizen_id, consent_id=consent_id, expired_at=expired_at, source=source
        )

    @event(Expired)
    def _expired(
        self,
        citizen_id: uuid.UUID,
        consent_id: uuid.UUID,
        expired_at: datetime,
        source: ConsentSource | None = None,
    ) -> None:
        self.ended.setdefault(consent_id, "expired")
