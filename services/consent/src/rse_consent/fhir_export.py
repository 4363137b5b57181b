"""A citizen's consents as FHIR R4 Consent resources in a collection Bundle (plain JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rse_consent.domain.consent import Validity

# Code systems FHIR defines, and the platform's own identifier and category systems.
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
CITIZEN_SYSTEM = "urn:rse:identifier:citizen"
PRACTITIONER_SYSTEM = "urn:rse:identifier:practitioner"
HEALTH_UNIT_SYSTEM = "urn:rse:identifier:health-unit"
HEALTH_SYSTEM = "urn:rse:identifier:health-system"
CATEGORY_SYSTEM = "urn:rse:record-category"

PURPOSES = {"treatment": ("TREAT", "treatment")}


def instant(at: datetime) -> str:
    return at.isoformat()


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]}


def grantee_reference(kind: str, grantee_id: str | None) -> dict[str, Any]:
    """The grantee by its identifier (no Practitioner or Organization resource is served here)."""
    if kind == "professional":
        return {"type": "Practitioner",
                "identifier": {"system": PRACTITIONER_SYSTEM, "value": grantee_id}}
    if kind == "health_unit":
        return {"type": "Organization",
                "identifier": {"system": HEALTH_UNIT_SYSTEM, "value": grantee_id}}
    return {"type": "Organization", "identifier": {"system": HEALTH_SYSTEM, "value": "SNS"},
            "display": "All professionals of the Serviço Nacional de Saúde"}


def period(validity: Validity) -> dict[str, str]:
    """When the permit applies: from its start until it ended (revoked, lapsed) or will end."""
    ends = [t for t in (validity.valid_until, validity.revoked_at, validity.expired_at) if t]
    return {"start": instant(validity.valid_from),
            **({"end": instant(min(ends))} if ends else {})}


def consent_resource(doc: dict[str, Any], validity: Validity, now: datetime) -> dict[str, Any]:
    """One consent (a projection document) as a FHIR R4 Consent resource."""
    in_effect = validity.status_at(now) in ("active", "pending")
    code, display = PURPOSES[doc["purpose"]]
    return {
        "resourceType": "Consent",
        "id": doc["_id"],
        "status": "active" if in_effect else "inactive",
        "scope": concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [concept(LOINC, "59284-0", "Patient Consent")],
        "patient": {"type": "Patient",
                    "identifier": {"system": CITIZEN_SYSTEM, "value": doc["citizen_id"]}},
        "dateTime": instant(validity.granted_at),
        "policyRule": concept(ACT_CODE, "OPTIN", "opt-in"),
        "provision": {
            "type": "permit",
            "period": period(validity),
            "actor": [{"role": concept(PARTICIPATION, "IRCP", "information recipient"),
                       "reference": grantee_reference(doc["grantee_kind"], doc["grantee_id"])}],
            "action": [concept(CONSENT_ACTION, "access", "Access")],
            "purpose": [coding(ACT_REASON, code, display)],
            "class": [coding(CATEGORY_SYSTEM, category) for category in doc["categories"]],
        },
    }


def consent_bundle(resources: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A collection Bundle of Consent resources."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(now),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
