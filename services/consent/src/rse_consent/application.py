"""Consent's use cases: grants, revocations, lapses, alert choices; accesses and staff reads in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import singledispatchmethod
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate

from rse_consent.domain.access import Access
from rse_consent.domain.alert import AccessAlert, alert_due
from rse_consent.domain.alert_preferences import AlertPreferences
from rse_consent.domain.consent import Consent, Grantee
from rse_consent.domain.privileged_read import PrivilegedRead, PrivilegedRole, Seen
from rse_consent.domain.proxy_action import ProxyAction
from rse_shared.clock import Clock, as_utc, utcnow
from rse_shared.consumer_application import ConsumerApplication
from rse_shared.contracts import (
    EmergencyAccessReviewed,
    IntegrationEvent,
    PersonalDataRead,
    RecordAccessed,
)
from rse_shared.proxy import acting_now

A = TypeVar("A", bound=Aggregate)


class ConsentNotFound(LookupError):
    """No such consent (or not the caller's)."""


class AlertNotFound(LookupError):
    """No such alert (or not the caller's)."""


NOT_ENTRIES = {"event_id", "citizen_id", "correlation_id", "causation_id"}


def entries_named(event: IntegrationEvent) -> list[dict[str, str]]:
    """The ids an event names (an appointment, a request, an exemption), by kind."""
    return [
        {"id": str(value), "kind": name.removesuffix("_id")}
        for name, value in event
        if name.endswith("_id") and name not in NOT_ENTRIES and isinstance(value, uuid.UUID)
    ]


def access_of(event: RecordAccessed, accessed_at: datetime) -> Access:
    """The access records reported, for the citizen's history (metadata only)."""
    return Access(
        access_id=event.access_id,
        citizen_id=event.citizen_id,
        practitioner_id=event.practitioner_id,
        health_unit=event.health_unit,
        categories=event.categories,
        purpose=event.purpose,
        emergency_reason=event.emergency_reason,
        decision=event.decision,
        consent_id=event.consent_id,
        accessed_at=accessed_at,
        action=event.action,
        role=event.role,
        actor_id=event.actor_id or event.practitioner_id,
        entries=tuple(e.model_dump() for e in event.entries),
        relationship=event.relationship,
    )


class ConsentApplication(ConsumerApplication):
    """Consents, the access history reported by records, and access alerts."""

    name = "consent"

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock = utcnow) -> None:
        super().__init__(env)
        self.clock = clock

    def grant(
        self,
        citizen_id: uuid.UUID,
        grantee: Grantee,
        categories: Iterable[str],
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Consent:
        acting = acting_now()  # a proxy's grant is the citizen's consent, given by the proxy
        consent = Consent.grant(
            citizen_id,
            grantee,
            categories,
            self.clock(),
            valid_from,
            valid_until,
            given_by=acting.actor_id if acting else None,
        )
        self.save(consent)
        return consent

    def revoke(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> Consent:
        consent = self.consent_of(citizen_id, consent_id)
        consent.revoke(self.clock())
        self.save(consent)
        return consent

    def expire_if_due(self, consent_id: uuid.UUID) -> bool:
        """Lapse a consent whose end date passed; False (and nothing saved) if it is not due."""
        consent = self.consent(consent_id)
        now = self.clock()
        if not consent.is_due_to_expire(now):
            return False
        consent.expire(now)
        self.save(consent)
        return True

    def choose_access_alerts(self, citizen_id: uuid.UUID, enabled: bool) -> bool:
        preferences = self._preferences(citizen_id) or AlertPreferences(citizen_id)
        preferences.choose(enabled, self.clock())
        self.save(preferences)
        return preferences.access_alerts

    def mark_alert_read(self, citizen_id: uuid.UUID, alert_id: uuid.UUID) -> None:
        alert = self._get(alert_id, AccessAlert)
        if alert is None or alert.citizen_id != citizen_id:
            raise AlertNotFound(f"alert {alert_id} not found")
        alert.mark_read(self.clock())
        self.save(alert)

    def consent(self, consent_id: uuid.UUID) -> Consent:
        consent = self._get(consent_id, Consent)
        if consent is None:
            raise ConsentNotFound(f"consent {consent_id} not found")
        return consent

    def consent_of(self, citizen_id: uuid.UUID, consent_id: uuid.UUID) -> Consent:
        """The citizen's consent; another citizen's is as unknown as a missing one."""
        consent = self.consent(consent_id)
        if consent.citizen_id != citizen_id:
            raise ConsentNotFound(f"consent {consent_id} not found")
        return consent

    def record_privileged_read(
        self,
        citizen_id: uuid.UUID,
        actor_id: str,
        role: PrivilegedRole,
        purpose: str,
        seen: Seen,
        entries: Iterable[tuple[str, str]],
    ) -> uuid.UUID:
        """Save a staff read of the citizen's data for their history; before the answer."""
        read_id = uuid.uuid4()
        self.save(
            PrivilegedRead(
                read_id=read_id,
                citizen_id=citizen_id,
                actor_id=actor_id,
                role=role,
                purpose=purpose,
                seen=seen,
                entries=[{"id": i, "kind": k} for i, k in entries],
                read_at=self.clock(),
            )
        )
        return read_id

    @singledispatchmethod
    def handle(self, event: Any, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other events change nothing here, but what a proxy did goes in the history."""
        if isinstance(event, IntegrationEvent) and event.proxy is not None:
            processing_event.collect_events(*self.proxy_acted(event))

    def proxy_acted(self, event: IntegrationEvent) -> list[Aggregate]:
        """Another service's event of an action a proxy took for the citizen; once."""
        proxy = event.proxy
        if proxy is None or self._get(ProxyAction.create_id(event.event_id), ProxyAction):
            return []
        return [
            ProxyAction(
                event_id=event.event_id,
                citizen_id=event.citizen_id,
                actor_id=proxy.actor_id,
                relationship_id=proxy.relationship_id,
                kind=proxy.kind,
                did=event.event_type,
                entries=entries_named(event),
                at=as_utc(event.occurred_at),
            )
        ]

    @handle.register(RecordAccessed)
    def when_record_accessed_log_it_and_alert(
        self,
        event: RecordAccessed,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        processing_event.collect_events(*self.access_recorded(event))

    @handle.register(PersonalDataRead)
    def when_personal_data_read_log_it(
        self,
        event: PersonalDataRead,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        processing_event.collect_events(*self.personal_data_read(event))

    def personal_data_read(self, event: PersonalDataRead) -> list[Aggregate]:
        """An operator's read (identity reported it) for the history; nothing if known."""
        if self._get(PrivilegedRead.create_id(event.read_id), PrivilegedRead) is not None:
            return []
        return [
            PrivilegedRead(
                read_id=event.read_id,
                citizen_id=event.citizen_id,
                actor_id=event.actor_id,
                role=event.role,
                purpose=event.purpose,
                seen="personal_data",
                entries=[{"id": str(event.citizen_id), "kind": "personal_data"}],
                read_at=as_utc(event.read_at),
            )
        ]

    @handle.register(EmergencyAccessReviewed)
    def when_emergency_reviewed_show_the_outcome(
        self,
        event: EmergencyAccessReviewed,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        access = self._get(Access.create_id(event.access_id), Access)
        if access is None or access.citizen_id != event.citizen_id:
            return  # records reviews only the accesses it reported first, on the same partition
        access.review(event.outcome, event.note, event.reviewed_by, as_utc(event.reviewed_at))
        processing_event.collect_events(access)

    def access_recorded(self, event: RecordAccessed) -> list[Aggregate]:
        """The access for the citizen's history, and its alert if due; nothing if known."""
        if self._get(Access.create_id(event.access_id), Access) is not None:
            return []  # the same access reported twice (under another source position)
        accessed_at = as_utc(event.accessed_at)
        recorded: list[Aggregate] = [access_of(event, accessed_at)]
        preferences = self._preferences(event.citizen_id)
        opted_in = preferences is not None and preferences.access_alerts
        if alert_due(opted_in, event.decision):
            recorded.append(
                AccessAlert(
                    citizen_id=event.citizen_id,
                    access_id=event.access_id,
                    practitioner_id=event.practitioner_id,
                    health_unit=event.health_unit,
                    categories=event.categories,
                    decision=event.decision,
                    accessed_at=accessed_at,
                    causation_id=event.event_id,
                    correlation_id=event.correlation_id or event.event_id,
                    action=event.action,
                )
            )
        return recorded

    def _preferences(self, citizen_id: uuid.UUID) -> AlertPreferences | None:
        return self._get(AlertPreferences.create_id(citizen_id), AlertPreferences)

    def _get(self, aggregate_id: uuid.UUID, kind: type[A]) -> A | None:
        """The aggregate of that kind, or None (a wrong kind is as good as missing)."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None
