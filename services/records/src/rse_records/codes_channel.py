"""The prescription codes, handed to notifications alone: sealed, on records' channel.

records.events carries an e-prescription's number, never its codes; the citizen still
needs them to collect the medicine, so they go sealed to notifications' public key on
`records.prescription-codes`, which only notifications may read (rse_shared.acl).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from rse_records.domain.health_record import HealthRecord
from rse_shared.contracts import IntegrationEvent, PrescriptionCodesSealed
from rse_shared.published import Envelope, Publisher
from rse_shared.sealed import seal


def codes_channel(notifications_key: X25519PublicKey) -> Publisher:
    """What records publishes on its codes channel: each prescription's codes, sealed."""
    publisher = Publisher("records")

    @publisher.translates(HealthRecord.PrescriptionIssued)
    def prescription_codes(
        event: HealthRecord.PrescriptionIssued, envelope: Envelope
    ) -> IntegrationEvent:
        codes = {
            "prescription_number": event.prescription_number,
            "access_code": event.access_code,
            "choice_code": event.choice_code,
        }
        context = PrescriptionCodesSealed.context_for(envelope["citizen_id"])
        return PrescriptionCodesSealed(
            **envelope,
            prescription_id=event.prescription_id,
            valid_until=event.valid_until,
            renewal_request_id=event.renewal_request_id,
            sealed=seal(notifications_key, codes, context),
        )

    return publisher
