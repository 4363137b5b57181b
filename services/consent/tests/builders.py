"""What records and identity would report: accesses and staff reads, for consent's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from rse_shared.contracts import PersonalDataRead, RecordAccessed

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def an_access(citizen_id: uuid.UUID, position: int, **overrides: Any) -> RecordAccessed:
    """A professional's read of the citizen's vaccinations, permitted by a consent."""
    decision = overrides.get("decision", "permit")
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": NOW,
        "producer": "records",
        "citizen_id": citizen_id,
        "source_position": position,
        "access_id": uuid.uuid4(),
        "practitioner_id": "P-100",
        "role": "professional",
        "health_unit": "USF Tejo",
        "categories": ("vaccinations",),
        "purpose": "treatment",
        "emergency_reason": "unconscious in the emergency room"
        if decision == "emergency"
        else None,
        "decision": decision,
        "consent_id": uuid.uuid4() if decision == "permit" else None,
        "accessed_at": NOW,
    }
    fields.update(overrides)
    return RecordAccessed(**fields)


def a_personal_data_read(
    citizen_id: uuid.UUID, position: int, **overrides: Any
) -> PersonalDataRead:
    """An operator's read of the citizen's personal data, as identity reports it."""
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": NOW,
        "producer": "identity",
        "citizen_id": citizen_id,
        "source_position": position,
        "read_id": uuid.uuid4(),
        "actor_id": "op-account-1",
        "role": "operator",
        "purpose": "citizen called the help line about their address",
        "read_at": NOW,
    }
    fields.update(overrides)
    return PersonalDataRead(**fields)
