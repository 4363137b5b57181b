"""Events other services would publish to notifications, sealed where theirs are."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from rse_shared.contracts import ContactsSealed, PrescriptionCodesSealed
from rse_shared.sealed import seal
from rse_shared.testing import Envelopes

CODES = {
    "prescription_number": "1011000012345678901",
    "access_code": "482913",
    "choice_code": "7351",
}


def contacts(
    key: X25519PublicKey, envelopes: Envelopes, citizen_id: uuid.UUID, **values: str
) -> ContactsSealed:
    payload = values or {"email": "ana@example.pt", "phone": "+351912345678"}
    context = ContactsSealed.context_for(citizen_id)
    return ContactsSealed(
        **envelopes.envelope("identity", citizen_id), sealed=seal(key, payload, context)
    )


def codes(
    key: X25519PublicKey, envelopes: Envelopes, citizen_id: uuid.UUID, **overrides: Any
) -> PrescriptionCodesSealed:
    context = PrescriptionCodesSealed.context_for(citizen_id)
    return PrescriptionCodesSealed(
        **envelopes.envelope("records", citizen_id),
        prescription_id=uuid.uuid4(),
        valid_until=date(2027, 2, 25),
        sealed=seal(key, {**CODES, **overrides}, context),
    )


def moment(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)
