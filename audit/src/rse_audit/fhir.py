"""FHIR R4 resources of the replayed history: AuditEvent per access, Consent per consent.

Emergency reads carry the break-glass codes FHIR uses (DICOM 110113 / 110127, purpose of
use BTG / ETREAT).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rse_shared.fhir import ACT_REASON, ConsentFacts
from rse_shared.fhir import coding as _coding

DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"


def audit_event(access: dict[str, Any]) -> dict[str, Any]:
    """One professional read as an AuditEvent: who, which categories, when, decision, consent."""
    emergency = access["decision"] == "emergency"
    if emergency:
        event_type = _coding(DCM, "110113", "Security Alert")
        subtype = [_coding(DCM, "110127", "Emergency Override Started")]
        purpose = [
            {"coding": [_coding(ACT_REASON, "BTG", "break the glass")]},
            {"coding": [_coding(ACT_REASON, "ETREAT", "Emergency Treatment")]},
        ]
    else:
        event_type = _coding(DCM, "110110", "Patient Record")
        subtype = [_coding(AUDIT_TYPE, "read", "read")]
        purpose = [{"coding": [_coding(ACT_REASON, "TREAT", "treatment")]}]
    entities = [
        {
            "what": {"reference": f"Patient/{access['citizen_id']}"},
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "1",
                "display": "Person",
            },
            "description": "categories: " + ", ".join(access["categories"]),
        }
    ]
    if access.get("consent_id"):
        entities.append(
            {
                "what": {"reference": f"Consent/{access['consent_id']}"},
                "description": "the consent the read relied on",
            }
        )
    return {
        "resourceType": "AuditEvent",
        "id": access["access_id"],
        "type": event_type,
        "subtype": subtype,
        "action": "R",
        "recorded": access["accessed_at"],
        "outcome": "4" if access["decision"] == "deny" else "0",
        "outcomeDesc": f"decision: {access['decision']}"
        + (f"; emergency reason: {access['emergency_reason']}" if emergency else ""),
        "purposeOfEvent": purpose,
        "agent": [
            {
                "who": {
                    "identifier": {
                        "system": "urn:rse:practitioner",
                        "value": access["practitioner_id"],
                    }
                },
                "requestor": True,
                **(
                    {"location": {"display": access["health_unit"]}}
                    if access.get("health_unit")
                    else {}
                ),
            }
        ],
        "source": {"observer": {"display": "RSE records service"}},
        "entity": entities,
    }


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def consent_facts(row: dict[str, Any]) -> ConsentFacts:
    """A replayed consent row, as a FHIR Consent describes it."""
    return ConsentFacts(
        consent_id=row["consent_id"],
        citizen_id=row["citizen_id"],
        grantee_kind=row["grantee_kind"],
        grantee_id=row["grantee_id"],
        categories=row["categories"],
        purpose=row["purpose"],
        granted_at=datetime.fromisoformat(row["granted_at"]),
        valid_from=datetime.fromisoformat(row["valid_from"]),
        valid_until=_instant(row["valid_until"]),
        revoked_at=_instant(row["revoked_at"]),
        expired_at=_instant(row["expired_at"]),
    )
