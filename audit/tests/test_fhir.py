"""The auditor's AuditEvents, checked by HAPI FHIR's instance validator (R4, offline)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from rse_audit.fhir import audit_event
from rse_shared.fhir import collection
from rse_shared.testing import FhirValidator

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ENTRIES = [{"id": "allergy-1", "kind": "allergy"}, {"id": "vacc-7", "kind": "vaccination"}]


def access(**fields: Any) -> dict[str, Any]:
    """A replayed access row: a professional's permitted read unless `fields` say otherwise."""
    return {
        "access_id": str(uuid.uuid4()),
        "citizen_id": str(uuid.uuid4()),
        "practitioner_id": "P-1",
        "health_unit": "USF Tejo",
        "categories": ["allergies", "vaccinations"],
        "purpose": "treatment",
        "emergency_reason": None,
        "decision": "permit",
        "consent_id": str(uuid.uuid4()),
        "accessed_at": NOW.isoformat(),
        **fields,
    }


KINDS = {
    "read (no entries: an event from before they were named)": access(),
    "read naming its entries": access(entries=ENTRIES),
    "denied": access(decision="deny", consent_id=None),
    "emergency": access(
        decision="emergency", consent_id=None, emergency_reason="unconscious in the A&E room"
    ),
    "write": access(action="write", entries=ENTRIES[:1], relationship="family_doctor"),
    "hospital write": access(
        action="write", role="hospital_staff", relationship="referral_hospital", entries=ENTRIES
    ),
    "patient list": access(action="list", entries=[]),
    "operator read": access(
        role="operator", actor_id="staff-9", purpose="ticket 42", consent_id=None, health_unit=None
    ),
    "auditor read": access(
        role="auditor", actor_id="staff-3", purpose="yearly audit", consent_id=None
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_access_is_a_valid_audit_event(
    fhir_validator: FhirValidator, kind: str
) -> None:
    assert fhir_validator.errors(audit_event(KINDS[kind])) == []


def test_a_bundle_of_every_kind_is_valid(fhir_validator: FhirValidator) -> None:
    bundle = collection([audit_event(a) for a in KINDS.values()], NOW)
    assert fhir_validator.errors(bundle) == []


def test_an_empty_bundle_has_no_entry_and_is_valid(fhir_validator: FhirValidator) -> None:
    bundle = collection([], NOW)
    assert "entry" not in bundle
    assert fhir_validator.errors(bundle) == []


def test_the_validator_refuses_the_codes_and_empty_arrays_emitted_before(
    fhir_validator: FhirValidator,
) -> None:
    """What the auditor exported before: `read` in audit-event-type, `"entry": []`."""
    event = audit_event(access())
    event["subtype"] = [
        {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "read"}
    ]
    empty = {**collection([], NOW), "entry": []}
    errors = fhir_validator.errors(event, empty)
    assert len(errors) == 2
    assert "Unknown code" in errors[0] and "audit-event-type#read" in errors[0]
    assert "Array cannot be empty" in errors[1]


def test_a_read_names_the_interaction_the_person_their_role_and_the_entries() -> None:
    event = audit_event(access(entries=ENTRIES))
    assert event["type"]["code"] == "110110" and event["action"] == "R"
    assert [(c["system"], c["code"]) for c in event["subtype"]] == [
        ("http://hl7.org/fhir/restful-interaction", "read")
    ]
    [agent] = event["agent"]
    assert agent["who"]["identifier"]["value"] == "P-1"
    assert agent["role"][0]["coding"][0]["code"] == "professional"
    named = [e["what"] for e in event["entity"] if "identifier" in e["what"]][1:]
    assert [(w["identifier"]["value"], w["display"]) for w in named] == [
        ("allergy-1", "allergy"),
        ("vacc-7", "vaccination"),
    ]


def test_an_emergency_is_a_break_the_glass_override_of_a_read() -> None:
    event = audit_event(KINDS["emergency"])
    assert [c["code"] for c in event["subtype"]] == ["read", "110127"]
    purposes = [c["code"] for p in event["purposeOfEvent"] for c in p["coding"]]
    assert purposes == ["BTG", "ETREAT"]


def test_a_write_is_a_create_by_its_author_under_its_relationship() -> None:
    event = audit_event(KINDS["write"])
    assert event["action"] == "C" and event["subtype"][0]["code"] == "create"
    assert event["agent"][0]["type"]["coding"][0]["code"] == "AUT"
    assert "care relationship: family_doctor" in event["outcomeDesc"]


def test_a_staff_read_names_the_account_and_the_stated_purpose() -> None:
    event = audit_event(KINDS["operator read"])
    assert event["agent"][0]["who"]["identifier"] == {
        "system": "urn:rse:identifier:staff",
        "value": "staff-9",
    }
    [purpose] = event["purposeOfEvent"]
    assert purpose["coding"][0]["code"] == "HSYSADMIN" and purpose["text"] == "ticket 42"
