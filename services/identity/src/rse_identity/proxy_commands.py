"""Identity's use cases for acting for someone: establish, appoint, accept, revoke, end, act."""

from __future__ import annotations

import uuid
from datetime import date

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from rse_identity.domain.citizen import Citizen
from rse_identity.domain.proxy import (
    ADULTHOOD,
    SEES_PROXIES_FROM,
    NotYours,
    ProxyNotInForce,
    ProxyRefused,
    ProxyRelationship,
    birthday,
)
from rse_identity.domain.proxy_roster import ProxyRoster
from rse_shared.clock import Clock, today
from rse_shared.eventstore import ServiceApplication
from rse_shared.proxy import ProxyKind


class ProxyNotFound(LookupError):
    """No such proxy relationship (or not one the caller is a party to)."""


class ProxyCommands(ServiceApplication):
    """The proxy relationships' commands, mixed into identity's application."""

    clock: Clock

    def establish_guardianship(
        self, minor_id: uuid.UUID, guardian_id: uuid.UUID, by: str, documents: str
    ) -> uuid.UUID:
        """An operator, having checked the documents, makes a legal guardian of a minor."""
        minor = self._party(minor_id)
        self._adult(guardian_id)
        relationship = ProxyRelationship.establish_guardianship(
            minor_id, guardian_id, minor.date_of_birth, self.today(), (by, documents)
        )
        return self._link(relationship)

    def appoint_proxy(
        self,
        represented_id: uuid.UUID,
        proxy_id: uuid.UUID,
        kind: ProxyKind,
        scopes: tuple[str, ...],
        valid_until: date | None,
        by: str,
        rentev_reference: str | None = None,
    ) -> uuid.UUID:
        """The citizen (or an operator, from RENTEV) appoints a caregiver or healthcare proxy."""
        self._party(represented_id)
        self._adult(proxy_id)
        relationship = ProxyRelationship.appoint(
            represented_id,
            proxy_id,
            kind,
            scopes,
            (self.today(), valid_until),
            by,
            rentev_reference,
        )
        return self._link(relationship)

    def accept_proxy(self, relationship_id: uuid.UUID, proxy_id: uuid.UUID) -> None:
        relationship = self.proxy_relationship(relationship_id)
        relationship.accept(proxy_id, self.clock())
        self.save(relationship)

    def revoke_proxy(
        self, relationship_id: uuid.UUID, by: str, represented_id: uuid.UUID | None
    ) -> None:
        """The represented citizen (`represented_id`), or an operator (None), revokes it."""
        relationship = self.proxy_relationship(relationship_id)
        if represented_id is not None and represented_id != relationship.represented_id:
            raise NotYours("only the represented citizen revokes a proxy")
        relationship.revoke(by, self.clock())
        self.save(relationship, *self._unlinked(relationship))

    def end_proxy_if_due(self, relationship_id: uuid.UUID) -> bool:
        """End a relationship whose period is over (a ward's 18th birthday); False if not due."""
        relationship = self.proxy_relationship(relationship_id)
        if not relationship.is_due_to_end(self.today()):
            return False
        relationship.end(self.clock())
        self.save(relationship, *self._unlinked(relationship))
        return True

    def relationships_ended_with(self, citizen_id: uuid.UUID) -> list[Aggregate]:
        """A deregistered citizen's open relationships, either side, ended (to save with it)."""
        rosters: dict[uuid.UUID, ProxyRoster] = {}
        own = self._roster(citizen_id, rosters)
        ended: list[Aggregate] = []
        for key in [*own.represented_by, *own.acts_for]:
            relationship = self.proxy_relationship(uuid.UUID(key))
            relationship.end(self.clock(), reason="citizen deregistered")
            self._unlinked(relationship, rosters)
            ended.append(relationship)
        return [*ended, *rosters.values()] if ended else []

    def acting_relationship(
        self, proxy_id: uuid.UUID, represented_id: uuid.UUID
    ) -> ProxyRelationship:
        """The relationship in force today through which `proxy_id` acts for `represented_id`."""
        roster = self._roster(proxy_id)
        relationship_id = roster.relationship_for(represented_id)
        if relationship_id is None:
            raise ProxyNotInForce("no relationship in force with this citizen")
        relationship = self.proxy_relationship(relationship_id)
        relationship.check_in_force(self.today())
        return relationship

    def relationship_ended(self, relationship_id: uuid.UUID) -> bool:
        """For the proxy guard: the relationship is not in force (any more)."""
        try:
            return not self.proxy_relationship(relationship_id).in_force(self.today())
        except ProxyNotFound:
            return True

    def sees_own_proxies(self, citizen_id: uuid.UUID) -> bool:
        """A minor sees who acts for them from their 16th birthday."""
        born = self._party(citizen_id).date_of_birth
        return self.today() >= birthday(born, SEES_PROXIES_FROM)

    def proxy_relationship(self, relationship_id: uuid.UUID) -> ProxyRelationship:
        try:
            found: object = self.repository.get(relationship_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, ProxyRelationship):
            raise ProxyNotFound(f"proxy relationship {relationship_id} not found")
        return found

    def today(self) -> date:
        return today(self.clock)

    def _link(self, relationship: ProxyRelationship) -> uuid.UUID:
        """Save the relationship with both rosters, refusing chains, cycles and doubles."""
        represented = self._roster(relationship.represented_id)
        proxy = self._roster(relationship.proxy_id)
        if proxy.represented_by:
            raise ProxyRefused("this proxy is represented by someone else: no chains of proxies")
        if represented.acts_for:
            raise ProxyRefused("a citizen who acts for others cannot be represented: no chains")
        if proxy.relationship_for(relationship.represented_id) is not None:
            raise ProxyRefused("this proxy already acts for this citizen")
        represented.link(relationship.id, "represented", relationship.proxy_id)
        proxy.link(relationship.id, "proxy", relationship.represented_id)
        self.save(relationship, represented, proxy)
        return relationship.id

    def _unlinked(
        self, relationship: ProxyRelationship, kept: dict[uuid.UUID, ProxyRoster] | None = None
    ) -> list[ProxyRoster]:
        """Both parties' rosters without the relationship (`kept`: rosters already in hand)."""
        rosters = [
            self._roster(relationship.represented_id, kept),
            self._roster(relationship.proxy_id, kept),
        ]
        for roster in rosters:
            roster.unlink(relationship.id)
        return rosters

    def _roster(
        self, citizen_id: uuid.UUID, kept: dict[uuid.UUID, ProxyRoster] | None = None
    ) -> ProxyRoster:
        if kept is not None and citizen_id in kept:
            return kept[citizen_id]
        try:
            roster: ProxyRoster = self.repository.get(ProxyRoster.create_id(citizen_id))
        except AggregateNotFoundError:
            roster = ProxyRoster(citizen_id=citizen_id)
        if kept is not None:
            kept[citizen_id] = roster
        return roster

    def _adult(self, citizen_id: uuid.UUID) -> Citizen:
        """A registered citizen of age: only adults act for others."""
        citizen = self._party(citizen_id)
        if self.today() < birthday(citizen.date_of_birth, ADULTHOOD):
            raise ProxyRefused("a proxy must be of age")
        return citizen

    def _party(self, citizen_id: uuid.UUID) -> Citizen:
        """A registered citizen (a proxy, or the one represented)."""
        try:
            citizen: object = self.repository.get(citizen_id)
        except AggregateNotFoundError:
            citizen = None
        if not isinstance(citizen, Citizen) or citizen.deregistered is not None:
            raise ProxyRefused(f"{citizen_id} is not a registered citizen")
        return citizen
