"""FHIR R4 AuditEvent resources for record accesses (break-glass marked as FHIR does)."""

from __future__ import annotations

from typing import Any

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def audit_event(access: dict[str, Any]) -> dict[str, Any]:
    """One professional read as an AuditEvent: who, which categories, when, decision, consent."""
    emergency = access["decision"] == "emergency"
    if emergency:
        event_type = _coding(DCM, "110113", "Security Alert")
        subtype = [_coding(DCM, "110127", "Emergency Override Started")]
        purpose = [{"coding": [_coding(ACT_REASON, "BTG", "break the glass")]},
                   {"coding": [_coding(ACT_REASON, "ETREAT", "Emergency Treatment")]}]
    else:
        event_type = _coding(DCM, "110110", "Patient Record")
        subtype = [_coding(AUDIT_TYPE, "read", "read")]
        purpose = [{"coding": [_coding(ACT_REASON, "TREAT", "treatment")]}]
    entities = [{"what": {"reference": f"Patient/{access['citizen_id']}"},
                 "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                          "code": "1", "display": "Person"},
                 "description": "categories: " + ", ".join(access["categories"])}]
    if access.get("consent_id"):
        entities.append({"what": {"reference": f"Consent/{access['consent_id']}"},
                         "description": "the consent the read relied on"})
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
        "agent": [{"who": {"identifier": {"system": "urn:rse:practitioner",
                                          "value": access["practitioner_id"]}},
                   "requestor": True,
                   **({"location": {"display": access["health_unit"]}}
                      if access.get("health_unit") else {})}],
        "source": {"observer": {"display": "RSE records service"}},
        "entity": entities,
    }


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
