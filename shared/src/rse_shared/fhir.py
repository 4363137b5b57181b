"""FHIR R4 resources built as plain JSON: Consent (consent service, auditor) and Bundle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
        return {
            "type": "Practitioner",
            "identifier": {"system": PRACTITIONER_SYSTEM, "value": grantee_id},
        }
    if kind == "health_unit":
        return {
            "type": "Organization",
            "identifier": {"system": HEALTH_UNIT_SYSTEM, "value": grantee_id},
        }
    return {
        "type": "Organization",
        "identifier": {"system": HEALTH_SYSTEM, "value": "SNS"},
        "display": "All professionals of the Serviço Nacional de Saúde",
    }


@dataclass(frozen=True)
class ConsentFacts:
    """What a Consent resource says of one consent, wherever it was read from."""

    consent_id: str
    citizen_id: str
    grantee_kind: str
    grantee_id: str | None
    categories: Sequence[str]
    purpose: str
    granted_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None = None
    expired_at: datetime | None = None

    def ended_at(self) -> datetime | None:
        """When it stopped (or will stop) applying: the earliest end, revocation or lapse."""
        ends = [t for t in (self.valid_until, self.revoked_at, self.expired_at) if t]
        return min(ends) if ends else None

    def in_effect(self, now: datetime) -> bool:
        ended = self.ended_at()
        return ended is None or now < ended


def period(facts: ConsentFacts) -> dict[str, str]:
    """When the permit applies: from its start until it ended (revoked, lapsed) or will end."""
    ended = facts.ended_at()
    return {"start": instant(facts.valid_from), **({"end": instant(ended)} if ended else {})}


def consent_resource(facts: ConsentFacts, now: datetime) -> dict[str, Any]:
    """One consent as a FHIR R4 Consent resource (active while in effect, else inactive)."""
    code, display = PURPOSES[facts.purpose]
    return {
        "resourceType": "Consent",
        "id": facts.consent_id,
        "status": "active" if facts.in_effect(now) else "inactive",
        "scope": concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [concept(LOINC, "59284-0", "Patient Consent")],
        "patient": {
            "type": "Patient",
            "identifier": {"system": CITIZEN_SYSTEM, "value": facts.citizen_id},
        },
        "dateTime": instant(facts.granted_at),
        "policyRule": concept(ACT_CODE, "OPTIN", "opt-in"),
        "provision": {
            "type": "permit",
            "period": period(facts),
            "actor": [
                {
                    "role": concept(PARTICIPATION, "IRCP", "information recipient"),
                    "reference": grantee_reference(facts.grantee_kind, facts.grantee_id),
                }
            ],
            "action": [concept(CONSENT_ACTION, "access", "Access")],
            "purpose": [coding(ACT_REASON, code, display)],
            "class": [coding(CATEGORY_SYSTEM, category) for category in facts.categories],
        },
    }


def collection(resources: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A collection Bundle of resources (no `entry` at all when there are none)."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(now),
    }
    # FHIR JSON has no empty arrays: an element with no values is left out.
    if resources:
        bundle["entry"] = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    return bundle
