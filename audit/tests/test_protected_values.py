"""The replay reads protected values only with the auditor's key access."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from rse_audit.replay import WITHHELD, readable
from rse_shared.contracts import ExemptionDecided
from rse_shared.keyring import MemoryKeyring
from rse_shared.protection import protect


def a_decision(keys: MemoryKeyring) -> dict[str, object]:
    event = ExemptionDecided(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        producer="benefits",
        citizen_id=uuid.uuid4(),
        source_position=1,
        exemption_id=uuid.uuid4(),
        category="pregnancy",
        decision="granted",
        basis="officer",
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 10, 1),
        reason="pregnancy certified by the family doctor",
    )
    return protect(event.to_wire(), ExemptionDecided.protected_fields, keys)


def test_without_keys_the_protected_values_are_withheld_and_the_decision_is_kept() -> None:
    seen = readable(a_decision(MemoryKeyring()), None)
    assert seen["category"] == WITHHELD and seen["reason"] == WITHHELD
    assert seen["decision"] == "granted" and seen["basis"] == "officer"
    assert "protected" not in seen


def test_with_the_auditor_s_keys_the_protected_values_are_revealed() -> None:
    keys = MemoryKeyring("auditor")
    seen = readable(a_decision(keys), keys)
    assert seen["category"] == "pregnancy" and seen["reason"].startswith("pregnancy certified")


def test_an_erased_citizen_s_values_stay_withheld_even_with_keys() -> None:
    keys = MemoryKeyring("auditor")
    document = a_decision(keys)
    keys.erase(uuid.UUID(str(document["citizen_id"])), erased_by="operator", legal_basis="test")
    assert readable(document, keys)["category"] == WITHHELD
