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
    event_type, subtype, purpose = _event_kind(access["decision"] == "emergency")
    return {
        "resourceType": "AuditEvent",
        "id": access["access_id"],
        "type": event_type,
        "subtype": subtype,
        "action": "R",
        "recorded": access["accessed_at"],
        "outcome": "4" if access["decision"] == "deny" else "0",
        "outcomeDesc": _outcome_description(access),
        "purposeOfEvent": purpose,
        "agent": [_practitioner_agent(access)],
        "source": {"observer": {"display": "RSE records service"}},
        "entity": _entities(access),
    }


def _event_kind(
    emergency: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(type, subtype, purpose of use): break-glass codes for an emergency read."""
    if emergency:
        return (
            _coding(DCM, "110113", "Security Alert"),
            [_coding(DCM, "110127", "Emergency Override Started")],
            [
                {"coding": [_coding(ACT_REASON, "BTG", "break the glass")]},
                {"coding": [_coding(ACT_REASON, "ETREAT", "Emergency Treatment")]},
            ],
        )
    return (
        _coding(DCM, "110110", "Patient Record"),
        [_coding(AUDIT_TYPE, "read", "read")],
        [{"coding": [_coding(ACT_REASON, "TREAT", "treatment")]}],
    )


def _outcome_description(access: dict[str, Any]) -> str:
    text = f"decision: {access['decision']}"
    if access["decision"] == "emergency":
        text += f"; emergency reason: {access['emergency_reason']}"
    return text


def _practitioner_agent(access: dict[str, Any]) -> dict[str, Any]:
    """The practitioner who read, and the health unit they read from when known."""
    agent: dict[str, Any] = {
        "who": {
            "identifier": {"system": "urn:rse:practitioner", "value": access["practitioner_id"]}
        },
        "requestor": True,
    }
    if access.get("health_unit"):
        agent["location"] = {"display": access["health_unit"]}
    return agent


def _entities(access: dict[str, Any]) -> list[dict[str, Any]]:
    """The patient whose categories were read, and the consent the read relied on if any."""
    entities: list[dict[str, Any]] = [
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
    return entities


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
