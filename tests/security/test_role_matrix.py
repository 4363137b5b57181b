"""Who may call what: every endpoint of every service, by every role and without a token.

The table below is the specification, read from each service's api.py. "citizen" means the
citizen acting on their own id (another citizen's id is test_idor's business); a
professional reads a record only under consent, so the cast citizen consented to the cast
professional for every category. Allowed calls may still fail on their data (404, 409,
422): what is checked is the authorisation outcome and that nothing answers 5xx.
Refused: 401 without a token, 403 with a token of a role not in the table; problem+json.

A rule's `scope` is the proxy scope that opens it (test_proxy_scopes checks every route
with a proxy of each scope).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rse_shared.auth import ROLES
from rse_shared.testing.logins import another_session
from tests.e2e.conftest import Platform
from tests.e2e.flows import nif_for

from .cast import CALLERS, PROBLEM, Cast, Clients

pytestmark = pytest.mark.integration

ANYONE = frozenset(CALLERS)  # public: no token needed
SIGNED_IN = frozenset(ROLES)  # any valid token
CITIZEN = frozenset({"citizen"})
PROFESSIONAL = frozenset({"professional"})
OPERATOR = frozenset({"operator"})
OFFICER = frozenset({"benefits_officer"})
HOSPITAL_STAFF = frozenset({"hospital_staff"})
AUDITOR = frozenset({"auditor"})
CITIZEN_OR_OPERATOR = frozenset({"citizen", "operator"})
CITIZEN_OR_AUDITOR = frozenset({"citizen", "auditor"})
CITIZEN_OR_PROFESSIONAL = frozenset({"citizen", "professional"})
CITIZEN_OR_OFFICER = frozenset({"citizen", "benefits_officer"})


def stated_emergency(_: Cast) -> dict[str, str]:
    return {"reason": "unconscious in the emergency room, no relatives reachable"}


NOT_SERVED = ("/health/", "/metrics", "/docs", "/redoc", "/openapi.json", "/.well-known/")
Body = Callable[[Cast], Any]


EVERY_SCOPE = "*"  # a route open to a proxy of any scope (it grants nothing new)


@dataclass(frozen=True)
class Rule:
    service: str
    method: str
    path: str
    allowed: frozenset[str]
    body: Body | None = None
    # The proxy scope that opens it (None: closed to every proxy; EVERY_SCOPE: open to all).
    scope: str | None = None
    # Called from a new login session of each caller: the call ends the session it is made in.
    own_session: bool = False

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    def url(self, cast: Cast, **known: str) -> str:
        """The path for the cast: their citizen and practitioner ids, unknown ids elsewhere."""
        ids = {
            "citizen_id": cast.citizen_id,
            "practitioner_id": cast.practitioner_id,
            "medication_id": "med-unknown",
            **known,
        }
        names = [part[1:-1] for part in self.path.split("/") if part.startswith("{")]
        return self.path.format(**{n: ids.get(n, str(uuid.uuid4())) for n in names})


def soon(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def later(days: int) -> str:
    return str(date.today() + timedelta(days=days))


SEED = uuid.uuid4().int % 10**8
REGISTRATION = {
    "full_name": "Rui Matos",
    "date_of_birth": "1980-05-05",
    "nif": nif_for(SEED),
    "sns_number": f"3{SEED:08d}",
    "email": "rui@example.pt",
    "phone": "+351912000000",
    "address": "Rua A, Lisboa",
    "password": "another long secret",
}
MEDICATION = {"name": "Losartan", "dosage": "50 mg 1x/dia"}
REASON = {"reason": "not needed any more"}

TABLE: list[Rule] = [
    # --- identity
    Rule("identity", "POST", "/citizens", ANYONE, lambda c: REGISTRATION),
    # staff have no personal data here
    Rule("identity", "GET", "/citizens/me", CITIZEN, scope="record.read"),
    Rule("identity", "GET", "/citizens/{citizen_id}", CITIZEN_OR_OPERATOR, scope="record.read"),
    Rule(
        "identity",
        "PATCH",
        "/citizens/{citizen_id}/contacts",
        CITIZEN_OR_OPERATOR,
        lambda c: {"phone": "+351913000001"},
    ),
    Rule(
        "identity",
        "PUT",
        "/citizens/{citizen_id}/family-doctor",
        OPERATOR,
        lambda c: {"practitioner_id": c.practitioner_id, "health_unit": c.health_unit},
    ),
    # An invalid date keeps the operator from deregistering the cast (422, still allowed).
    Rule(
        "identity",
        "POST",
        "/citizens/{citizen_id}/deregistration",
        OPERATOR,
        lambda c: {"reason": "death", "effective_date": "not a date"},
    ),
    Rule(
        "identity",
        "POST",
        "/citizens/{citizen_id}/erasure",
        OPERATOR,
        lambda c: {"legal_basis": "because", "reference": ""},
    ),
    Rule(
        "identity",
        "POST",
        "/staff",
        OPERATOR,
        lambda c: {
            "username": f"sec{uuid.uuid4().hex[:8]}",
            "password": "a staff password",
            "role": "auditor",
        },
    ),
    Rule(
        "identity",
        "POST",
        "/auth/token",
        ANYONE,
        lambda c: {
            "username": c.citizen["body"]["sns_number"],
            "password": c.citizen["body"]["password"],
        },
    ),
    # Counter activation: operators issue the code (the cast citizen is active: 409); anyone
    # may enter one (an empty code is 422, so the call is judged without spending a guess).
    Rule("identity", "POST", "/citizens/{citizen_id}/activation-codes", OPERATOR),
    Rule(
        "identity",
        "POST",
        "/citizens/activate",
        ANYONE,
        lambda c: {"sns_number": c.citizen["body"]["sns_number"], "code": ""},
    ),
    # The identity provider's flow: public (no state and code: 422).
    Rule("identity", "GET", "/auth/oidc/start", ANYONE),
    Rule("identity", "GET", "/auth/oidc/callback", ANYONE),
    # --- identity: acting for someone (never through a proxy's own token)
    Rule(
        "identity",
        "POST",
        "/guardianships",
        OPERATOR,
        lambda c: {"minor_id": str(uuid.uuid4()), "guardian_id": c.citizen_id, "documents": "x"},
    ),
    # An unknown proxy keeps the cast from appointing anyone (422, still allowed); an
    # operator appoints only a RENTEV healthcare proxy.
    Rule(
        "identity",
        "POST",
        "/citizens/{citizen_id}/proxies",
        CITIZEN_OR_OPERATOR,
        lambda c: {
            "kind": "healthcare_proxy",
            "proxy_id": str(uuid.uuid4()),
            "scopes": ["record.read"],
            "rentev_reference": "RENTEV-2026-1",
        },
    ),
    Rule("identity", "GET", "/citizens/{citizen_id}/proxies", CITIZEN),
    Rule("identity", "POST", "/proxies/{relationship_id}/acceptance", CITIZEN),
    Rule("identity", "POST", "/proxies/{relationship_id}/revocation", CITIZEN_OR_OPERATOR),
    # A malformed scope keeps the citizen from a token (422, still allowed).
    Rule(
        "identity",
        "POST",
        "/auth/token/exchange",
        CITIZEN,
        lambda c: {"subject": c.citizen_id, "scope": "NOT A SCOPE!"},
    ),
    # Staff have TOTP enrolled: replacing it without password and code is 409, still allowed.
    Rule("identity", "POST", "/auth/totp", SIGNED_IN),
    Rule("identity", "POST", "/auth/totp/confirm", SIGNED_IN, lambda c: {"code": "not-a-code"}),
    # A proxy's acting token may be re-issued for another service (scopes unchanged).
    Rule(
        "identity",
        "POST",
        "/auth/exchange",
        SIGNED_IN,
        lambda c: {"audience": "rse-records"},
        scope=EVERY_SCOPE,
    ),
    Rule("identity", "POST", "/auth/logout", SIGNED_IN, own_session=True),
    # A new password too short keeps the cast's passwords as they are (422, still allowed).
    Rule(
        "identity",
        "POST",
        "/auth/password",
        SIGNED_IN,
        lambda c: {"current_password": "whatever", "new_password": "short"},
    ),
    Rule(
        "identity", "POST", "/auth/revocations", OPERATOR, lambda c: {"access_token": "not-a-jwt"}
    ),
    Rule("identity", "DELETE", "/auth/lockouts/{username}", OPERATOR),
    Rule("identity", "POST", "/staff/{username}/deactivation", OPERATOR),
    Rule("identity", "POST", "/staff/{username}/reactivation", OPERATOR),
    # --- consent: the citizen's own consents, alerts and access history
    Rule(
        "consent",
        "POST",
        "/citizens/{citizen_id}/consents",
        CITIZEN,
        lambda c: {
            "grantee": {"kind": "professional", "id": "P-nobody"},
            "categories": ["vaccinations"],
        },
        scope="consents.manage",
    ),
    Rule(
        "consent",
        "GET",
        "/citizens/{citizen_id}/consents",
        CITIZEN_OR_AUDITOR,
        scope="consents.manage",
    ),
    Rule(
        "consent",
        "GET",
        "/citizens/{citizen_id}/consents/fhir",
        CITIZEN_OR_AUDITOR,
        scope="consents.manage",
    ),
    Rule(
        "consent",
        "GET",
        "/citizens/{citizen_id}/consents/{consent_id}",
        CITIZEN_OR_AUDITOR,
        scope="consents.manage",
    ),
    Rule(
        "consent",
        "POST",
        "/citizens/{citizen_id}/consents/{consent_id}/revocation",
        CITIZEN,
        scope="consents.manage",
    ),
    Rule(
        "consent",
        "GET",
        "/citizens/{citizen_id}/access-history",
        CITIZEN_OR_AUDITOR,
        scope="record.read",
    ),
    Rule(
        "consent", "GET", "/citizens/{citizen_id}/alert-settings", CITIZEN, scope="consents.manage"
    ),
    Rule(
        "consent",
        "PUT",
        "/citizens/{citizen_id}/alert-settings",
        CITIZEN,
        lambda c: {"access_alerts": False},
        scope="consents.manage",
    ),
    Rule("consent", "GET", "/citizens/{citizen_id}/alerts", CITIZEN, scope="consents.manage"),
    Rule(
        "consent",
        "POST",
        "/citizens/{citizen_id}/alerts/{alert_id}/read",
        CITIZEN,
        scope="consents.manage",
    ),
    # --- records: the citizen reads it all; professionals read by consent and write
    Rule("records", "GET", "/records/{citizen_id}", CITIZEN, scope="record.read"),
    Rule(
        "records",
        "GET",
        "/records/{citizen_id}/health-summary",
        CITIZEN_OR_PROFESSIONAL,
        scope="record.read",
    ),
    Rule(
        "records",
        "GET",
        "/records/{citizen_id}/vaccinations",
        CITIZEN_OR_PROFESSIONAL,
        scope="record.read",
    ),
    Rule(
        "records",
        "GET",
        "/records/{citizen_id}/care-plan",
        CITIZEN_OR_PROFESSIONAL,
        scope="record.read",
    ),
    Rule(
        "records",
        "GET",
        "/records/{citizen_id}/prescriptions",
        CITIZEN_OR_PROFESSIONAL,
        scope="record.read",
    ),
    Rule(
        "records", "GET", "/records/{citizen_id}/accesses", CITIZEN_OR_AUDITOR, scope="record.read"
    ),
    Rule("records", "GET", "/professionals/me/patients", PROFESSIONAL),
    # break-the-glass: a professional, the reason in the body (the cast's consent makes these
    # ordinary reads, so they take none of the day's quota)
    *(
        Rule(
            "records",
            "POST",
            f"/records/{{citizen_id}}/{category}/emergency",
            PROFESSIONAL,
            stated_emergency,
        )
        for category in ("health-summary", "vaccinations", "care-plan", "prescriptions")
    ),
    # the emergency-access review: auditors only
    Rule("records", "GET", "/emergency-accesses", AUDITOR),
    Rule("records", "GET", "/emergency-accesses/quota-alerts", AUDITOR),
    Rule(
        "records",
        "POST",
        "/emergency-accesses/{access_id}/review",
        AUDITOR,
        lambda c: {"outcome": "justified", "note": "checked against the ER admission log"},
    ),
    Rule(
        "records",
        "POST",
        "/records/{citizen_id}/health-summary/allergies",
        PROFESSIONAL,
        lambda c: {"allergy": "Penicilina"},
    ),
    Rule(
        "records",
        "POST",
        "/records/{citizen_id}/health-summary/chronic-conditions",
        PROFESSIONAL,
        lambda c: {"condition": "Hipertensão"},
    ),
    Rule(
        "records",
        "POST",
        "/records/{citizen_id}/health-summary/medications",
        PROFESSIONAL,
        lambda c: MEDICATION,
    ),
    Rule(
        "records",
        "PUT",
        "/records/{citizen_id}/health-summary/medications/{medication_id}",
        PROFESSIONAL,
        lambda c: MEDICATION,
    ),
    Rule(
        "records",
        "DELETE",
        "/records/{citizen_id}/health-summary/medications/{medication_id}",
        PROFESSIONAL,
    ),
    Rule(
        "records",
        "POST",
        "/records/{citizen_id}/vaccinations",
        PROFESSIONAL,
        lambda c: {
            "vaccine": "Gripe",
            "dose_number": 1,
            "administered_on": later(-10),
            "lot": "FLU-1",
        },
    ),
    Rule(
        "records",
        "PUT",
        "/records/{citizen_id}/care-plan",
        PROFESSIONAL,
        lambda c: {"goals": ["Tensão < 140/90"], "responsible_professional": "Dr. Sá"},
    ),
    Rule(
        "records",
        "POST",
        "/records/{citizen_id}/prescriptions",
        PROFESSIONAL,
        lambda c: {
            "items": [{"name": "Losartan", "dosage": "50 mg", "packs": 1}],
            "valid_until": later(30),
        },
    ),
    # --- requests: citizens their own requests; professionals their own agenda; hospitals
    # their referrals
    Rule("requests", "GET", "/citizens/{citizen_id}/slots", CITIZEN, scope="appointments"),
    Rule(
        "requests",
        "POST",
        "/citizens/{citizen_id}/appointments",
        CITIZEN,
        lambda c: {"slot_id": str(uuid.uuid4())},
        scope="appointments",
    ),
    Rule("requests", "GET", "/citizens/{citizen_id}/appointments", CITIZEN, scope="appointments"),
    Rule(
        "requests",
        "POST",
        "/citizens/{citizen_id}/appointments/{appointment_id}/cancellation",
        CITIZEN,
        lambda c: REASON,
        scope="appointments",
    ),
    Rule(
        "requests",
        "POST",
        "/citizens/{citizen_id}/renewals",
        CITIZEN,
        lambda c: {"medication_ids": ["med-unknown"]},
        scope="renewals",
    ),
    Rule("requests", "GET", "/citizens/{citizen_id}/renewals", CITIZEN, scope="renewals"),
    Rule(
        "requests", "GET", "/citizens/{citizen_id}/renewals/{request_id}", CITIZEN, scope="renewals"
    ),
    Rule("requests", "GET", "/citizens/{citizen_id}/referrals", CITIZEN, scope="referrals.read"),
    Rule(
        "requests",
        "POST",
        "/practitioners/{practitioner_id}/slots",
        PROFESSIONAL,
        lambda c: {"starts_at": soon(4)},
    ),
    Rule("requests", "GET", "/practitioners/{practitioner_id}/agenda", PROFESSIONAL),
    Rule(
        "requests",
        "POST",
        "/practitioners/{practitioner_id}/slots/{slot_id}/cancellation",
        PROFESSIONAL,
        lambda c: REASON,
    ),
    Rule("requests", "GET", "/practitioners/{practitioner_id}/renewals", PROFESSIONAL),
    Rule(
        "requests",
        "POST",
        "/practitioners/{practitioner_id}/renewals/{request_id}/decision",
        PROFESSIONAL,
        lambda c: {"decision": "rejected", "reason": "not indicated"},
    ),
    Rule("requests", "GET", "/practitioners/{practitioner_id}/referrals", PROFESSIONAL),
    Rule(
        "requests",
        "POST",
        "/referrals",
        PROFESSIONAL,
        lambda c: {
            "citizen_id": c.citizen_id,
            "specialty": "Cardiologia",
            "hospital": "Hospital de Santa Maria",
            "priority": "normal",
        },
    ),
    Rule(
        "requests",
        "POST",
        "/referrals/{referral_id}/status",
        HOSPITAL_STAFF,  # the referral's hospital moves it on; the professional registers it
        lambda c: {"status": "completed"},
    ),
    # --- benefits: citizens ask; officers see the queue, decide, and see a citizen's
    Rule(
        "benefits",
        "POST",
        "/citizens/{citizen_id}/exemptions",
        CITIZEN,
        lambda c: {
            "category": "blood_donor",
            "evidence": [{"kind": "donor card", "reference": "IPST-1"}],
        },
        scope="exemptions",
    ),
    Rule(
        "benefits",
        "POST",
        "/citizens/{citizen_id}/exemptions/{exemption_id}/renewal",
        CITIZEN,
        lambda c: {},
        scope="exemptions",
    ),
    Rule(
        "benefits",
        "GET",
        "/citizens/{citizen_id}/exemptions",
        CITIZEN_OR_OFFICER,
        scope="exemptions",
    ),
    Rule(
        "benefits", "GET", "/citizens/{citizen_id}/benefits", CITIZEN_OR_OFFICER, scope="exemptions"
    ),
    Rule("benefits", "GET", "/exemptions/pending", OFFICER),
    Rule(
        "benefits",
        "POST",
        "/exemptions/{exemption_id}/decision",
        OFFICER,
        lambda c: {"decision": "denied", "reason": "no evidence"},
    ),
]


def served_routes(platform: Platform) -> set[str]:
    """Every operation each app publishes (its OpenAPI document lists its routes)."""
    return {
        f"{name} {method.upper()} {path}"
        for name, service in platform.services.items()
        for path, operations in service.api.openapi()["paths"].items()
        if not path.startswith(NOT_SERVED)
        for method in operations
    }


def test_the_table_names_every_route_every_service_serves(platform: Platform) -> None:
    tabled = {str(rule) for rule in TABLE}
    served = served_routes(platform)
    assert served - tabled == set(), "routes the table does not cover"
    assert tabled - served == set(), "table rows no service serves"


def verdict(rule: Rule, caller: str, status: int, content_type: str) -> str | None:
    """What is wrong with this answer to this caller, if anything."""
    if status >= 500:
        return "server error"
    if caller in rule.allowed:
        return "refused, but the table allows it" if status in (401, 403) else None
    expected = 401 if caller == "anonymous" else 403
    if status != expected:
        return f"expected {expected}"
    return None if content_type.startswith(PROBLEM) else "refusal is not problem+json"


@pytest.mark.parametrize("rule", TABLE, ids=str)
async def test_each_caller_is_allowed_or_refused_as_the_table_says(
    rule: Rule,
    api: Clients,
    cast: Cast,
) -> None:
    wrong = []
    for caller in CALLERS:
        body = rule.body(cast) if rule.body else None
        headers = cast.headers[caller]
        if rule.own_session and headers:
            headers = await another_session(headers)
        response = await api[rule.service].request(
            rule.method, rule.url(cast), json=body, headers=headers
        )
        problem = verdict(
            rule, caller, response.status_code, response.headers.get("content-type", "")
        )
        if problem:
            wrong.append(f"{caller}: {response.status_code} ({problem}) {response.text[:150]}")
    assert wrong == []
