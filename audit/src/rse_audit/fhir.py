"""FHIR R4 resources of the replayed history: AuditEvent per access, Consent per consent.

Every access is a DICOM 110110 "Patient Record" event whose subtype is the RESTful
interaction it was (read, create, search-type); an emergency read adds DICOM 110127
"Emergency Override Started" and the purposes of use BTG and ETREAT. Each code is one its
system defines (checked by HAPI FHIR's validator in the tests).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rse_shared.fhir import (
    ACT_REASON,
    CITIZEN_SYSTEM,
    PARTICIPATION,
    PRACTITIONER_SYSTEM,
    ConsentFacts,
    concept,
)
from rse_shared.fhir import coding as _coding

DCM = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ROLE_SYSTEM = "urn:rse:role"
STAFF_SYSTEM = "urn:rse:identifier:staff"
ENTRY_SYSTEM = "urn:rse:identifier:record-entry"

# action of the history -> (RESTful interaction, AuditEvent.action). A write adds or changes
# entries of the record; the entries it names are the ones it wrote, hence "create". A patient
# list is a search. Anything else the log may carry later is reported as what it certainly
# was at least: a read.
INTERACTIONS = {
    "read": ("read", "R"),
    "write": ("create", "C"),
    "list": ("search-type", "E"),
}
ROLES = {
    "professional": "health professional",
    "hospital_staff": "hospital staff",
    "operator": "platform operator",
    "auditor": "auditor",
}
# Why, in v3-ActReason's words: staff read for administration or for compliance, not care.
PURPOSES = {
    "operator": ("HSYSADMIN", "health system administration"),
    "auditor": ("HCOMPL", "health compliance"),
}


def audit_event(access: dict[str, Any]) -> dict[str, Any]:
    """One access as an AuditEvent: who in which role, what, when, why, decision, consent."""
    emergency = access["decision"] == "emergency"
    interaction, action = INTERACTIONS.get(access.get("action") or "read", INTERACTIONS["read"])
    subtype = [_coding(RESTFUL, interaction, interaction)]
    if emergency:
        subtype.append(_coding(DCM, "110127", "Emergency Override Started"))
    return {
        "resourceType": "AuditEvent",
        "id": access["access_id"],
        "type": _coding(DCM, "110110", "Patient Record"),
        "subtype": subtype,
        "action": action,
        "recorded": access["accessed_at"],
        "outcome": "4" if access["decision"] == "deny" else "0",
        "outcomeDesc": _outcome_description(access),
        "purposeOfEvent": _purposes(access, emergency),
        "agent": [_agent(access, writer=action == "C")],
        "source": {
            "observer": {"display": "RSE records service"},
            "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
        },
        "entity": _entities(access),
    }


def _purposes(access: dict[str, Any], emergency: bool) -> list[dict[str, Any]]:
    """Break-the-glass for an emergency; the staff's stated purpose as the text of theirs."""
    if emergency:
        return [
            concept(ACT_REASON, "BTG", "break the glass"),
            concept(ACT_REASON, "ETREAT", "Emergency Treatment"),
        ]
    role = access.get("role") or "professional"
    if role in PURPOSES:
        purpose = concept(ACT_REASON, *PURPOSES[role])
        if access.get("purpose"):
            purpose["text"] = access["purpose"]
        return [purpose]
    return [concept(ACT_REASON, "TREAT", "treatment")]


def _outcome_description(access: dict[str, Any]) -> str:
    text = f"decision: {access['decision']}"
    if access["decision"] == "emergency":
        text += f"; emergency reason: {access['emergency_reason']}"
    if access.get("relationship"):
        text += f"; care relationship: {access['relationship']}"
    return text


def _agent(access: dict[str, Any], *, writer: bool) -> dict[str, Any]:
    """The person who acted, by identifier, in their role; their health unit when known."""
    role = access.get("role") or "professional"
    who: dict[str, Any]
    if role in ("operator", "auditor"):
        who = {"identifier": {"system": STAFF_SYSTEM, "value": _actor(access)}}
    else:
        who = {
            "type": "Practitioner",
            "identifier": {"system": PRACTITIONER_SYSTEM, "value": _actor(access)},
        }
    agent: dict[str, Any] = {
        "type": (
            concept(PARTICIPATION, "AUT", "author (originator)")
            if writer
            else concept(PARTICIPATION, "IRCP", "information recipient")
        ),
        "role": [concept(ROLE_SYSTEM, role, ROLES.get(role))],
        "who": who,
        "requestor": True,
    }
    if access.get("health_unit"):
        agent["location"] = {"display": access["health_unit"]}
    return agent


def _actor(access: dict[str, Any]) -> str:
    return str(access.get("actor_id") or access["practitioner_id"])


def _entities(access: dict[str, Any]) -> list[dict[str, Any]]:
    """The patient, each entry viewed or written (id and kind), and the consent relied on."""
    entities: list[dict[str, Any]] = [
        {
            "what": {
                "type": "Patient",
                "identifier": {"system": CITIZEN_SYSTEM, "value": access["citizen_id"]},
            },
            "type": _coding(ENTITY_TYPE, "1", "Person"),
            "role": _coding(OBJECT_ROLE, "1", "Patient"),
            "description": "categories: " + ", ".join(access["categories"]),
        }
    ]
    entities += [
        {
            "what": {
                "identifier": {"system": ENTRY_SYSTEM, "value": entry["id"]},
                "display": entry["kind"],
            },
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
            "description": f"{entry['kind']} entry",
        }
        for entry in access.get("entries") or ()
    ]
    if access.get("consent_id"):
        entities.append(
            {
                "what": {"reference": f"Consent/{access['consent_id']}"},
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "13", "Security Resource"),
                "description": "the consent the access relied on",
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
