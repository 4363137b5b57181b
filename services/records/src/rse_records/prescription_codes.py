"""A prescription's access and choice codes in records' read model: a bearer secret (they
dispense it at any pharmacy), kept sealed under the citizen's data key and bound to the
prescription and citizen, opened only for the citizen's own read."""

from __future__ import annotations

import uuid
from typing import Any

from rse_records.domain.health_record import HealthRecord
from rse_records.read_models import CODES
from rse_shared.keyring import Keyring
from rse_shared.protection import open_for, seal_for


def codes_context(prescription_id: str, citizen_id: str) -> str:
    """What a prescription's sealed codes are bound to (moved to another, they do not open)."""
    return f"prescription-codes:{prescription_id}:{citizen_id}"


def sealed_codes(keyring: Keyring | None, event: HealthRecord.PrescriptionIssued) -> Any:
    """The codes as the read model keeps them (as they are without a keyring: unit tests)."""
    codes = {"access_code": event.access_code, "choice_code": event.choice_code}
    if keyring is None:
        return codes
    context = codes_context(str(event.prescription_id), str(event.citizen_id))
    return seal_for(keyring, event.citizen_id, codes, context, "store")


def opened_codes(keyring: Keyring | None, document: dict[str, Any]) -> Any:
    """A prescription document's sealed codes, opened."""
    if keyring is None:
        raise RuntimeError("sealed prescription codes and no keyring to open them")
    context = codes_context(str(document["_id"]), str(document["citizen_id"]))
    return open_for(keyring, uuid.UUID(str(document["citizen_id"])), document[CODES], context)
