"""No citizen reaches another's data, and no professional another's agenda or requests.

A victim citizen has something behind every id a path can take (a consent, an access
alert, an appointment, a renewal request, an exemption, a referral); an intruder citizen and
a stranger professional, each with a valid token of their own, try every way in: the
victim's paths, and the victim's object ids under their own paths. Each try is refused
(403, or 404 where the service hides existence), nothing of the victim changes, and no list
of theirs shows the victim's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rse_shared.testing import eventually
from tests.e2e.conftest import Platform

from .cast import (
    Cast,
    Clients,
    citizen,
    grant,
    problem_of,
    professional,
    record_opened,
    with_family_doctor,
)
from .test_role_matrix import TABLE, Rule, later, soon

pytestmark = pytest.mark.integration
UNIT = "USF Seguranca"


@dataclass
class World:
    victim: dict[str, Any]
    intruder: dict[str, Any]  # another citizen
    doctor_id: str  # the victim's family doctor
    doctor: dict[str, str]
    stranger_id: str  # another professional, of another unit, with no consent
    stranger: dict[str, str]
    ids: dict[str, str]

    @property
    def victim_cast(self) -> Cast:
        return Cast(self.victim, self.doctor_id, UNIT)


async def created(probe: Any, key: str) -> str:
    """Retry a command until the services involved know the citizen; the new object's id."""

    async def done() -> str | None:
        response = await probe()
        return str(response.json()[key]) if response.status_code == 201 else None

    return await eventually(done, timeout=20)


@pytest.fixture(scope="module")
async def world(platform: Platform, api: Clients) -> World:
    victim, intruder = await citizen(api), await citizen(api)
    doctor_id, doctor = await professional(platform, api, UNIT)
    stranger_id, stranger = await professional(platform, api, "USF Outra")
    await with_family_doctor(platform, api, victim, doctor_id, UNIT)
    await record_opened(api, victim)
    vid = victim["citizen_id"]
    ids = {"citizen_id": vid}
    ids["medication_id"] = await created(
        lambda: api["records"].post(
            f"/records/{vid}/health-summary/medications",
            headers=doctor,
            json={"name": "Metformina", "dosage": "850 mg"},
        ),
        "medication_id",
    )
    ids["consent_id"] = await grant(api, victim, doctor_id, ["vaccinations"])
    emergency = await api["records"].post(
        f"/records/{vid}/vaccinations/emergency",
        headers=stranger,
        json={"reason": "found unconscious in the street"},
    )
    assert emergency.status_code == 200, emergency.text

    async def alerted() -> str | None:
        inbox = (await api["consent"].get(f"/citizens/{vid}/alerts", headers=victim["auth"])).json()
        return str(inbox[0]["alert_id"]) if inbox else None

    ids["alert_id"] = await eventually(alerted, timeout=20)
    ids["slot_id"] = await created(
        lambda: api["requests"].post(
            f"/practitioners/{doctor_id}/slots", headers=doctor, json={"starts_at": soon(3)}
        ),
        "slot_id",
    )
    ids["appointment_id"] = await created(
        lambda: api["requests"].post(
            f"/citizens/{vid}/appointments",
            headers=victim["auth"],
            json={"slot_id": ids["slot_id"]},
        ),
        "appointment_id",
    )
    ids["request_id"] = await created(
        lambda: api["requests"].post(
            f"/citizens/{vid}/renewals",
            headers=victim["auth"],
            json={"medication_ids": [ids["medication_id"]]},
        ),
        "request_id",
    )
    ids["exemption_id"] = await created(
        lambda: api["benefits"].post(
            f"/citizens/{vid}/exemptions",
            headers=victim["auth"],
            json={
                "category": "pregnancy",
                "evidence": [{"kind": "medical declaration", "reference": "D-7"}],
            },
        ),
        "exemption_id",
    )
    ids["referral_id"] = await created(
        lambda: api["requests"].post(
            "/referrals",
            headers=doctor,
            json={
                "citizen_id": vid,
                "specialty": "Cardiologia",
                "hospital": "Hospital de São João",
                "priority": "priority",
            },
        ),
        "referral_id",
    )
    return World(victim, intruder, doctor_id, doctor, stranger_id, stranger, ids)


def refused(response: Any) -> None:
    """403, or 404 where existence is hidden: never an answer, never a server error."""
    assert response.status_code in (403, 404), (response.status_code, response.text[:300])
    problem_of(response, response.status_code)


CITIZEN_PATHS = [rule for rule in TABLE if "{citizen_id}" in rule.path]
PRACTITIONER_PATHS = [rule for rule in TABLE if "{practitioner_id}" in rule.path]


@pytest.mark.parametrize("rule", CITIZEN_PATHS, ids=str)
async def test_another_citizen_is_refused_on_every_path_of_the_victim(
    rule: Rule,
    api: Clients,
    world: World,
) -> None:
    body = rule.body(world.victim_cast) if rule.body else None
    response = await api[rule.service].request(
        rule.method,
        rule.url(world.victim_cast, **world.ids),
        json=body,
        headers=world.intruder["auth"],
    )
    refused(response)


# The victim's objects, asked for under the intruder's own citizen id.
UNDER_OWN_PATH = [
    ("consent", "GET", "/citizens/{me}/consents/{consent_id}", None),
    ("consent", "POST", "/citizens/{me}/consents/{consent_id}/revocation", None),
    ("consent", "POST", "/citizens/{me}/alerts/{alert_id}/read", None),
    ("requests", "GET", "/citizens/{me}/renewals/{request_id}", None),
    (
        "requests",
        "POST",
        "/citizens/{me}/appointments/{appointment_id}/cancellation",
        {"reason": "not mine"},
    ),
    ("benefits", "POST", "/citizens/{me}/exemptions/{exemption_id}/renewal", {}),
]


@pytest.mark.parametrize(
    ("service", "method", "path", "body"),
    UNDER_OWN_PATH,
    ids=[f"{s} {m} {p}" for s, m, p, _ in UNDER_OWN_PATH],
)
async def test_the_victims_object_ids_under_another_citizens_own_path_are_refused(
    service: str,
    method: str,
    path: str,
    body: Any,
    api: Clients,
    world: World,
) -> None:
    url = path.format(me=world.intruder["citizen_id"], **world.ids)
    refused(await api[service].request(method, url, json=body, headers=world.intruder["auth"]))


@pytest.mark.parametrize("rule", PRACTITIONER_PATHS, ids=str)
async def test_another_professional_is_refused_on_the_doctors_agenda_and_requests(
    rule: Rule,
    api: Clients,
    world: World,
) -> None:
    body = rule.body(world.victim_cast) if rule.body else None
    response = await api[rule.service].request(
        rule.method, rule.url(world.victim_cast, **world.ids), json=body, headers=world.stranger
    )
    assert response.status_code == 403, response.text
    problem_of(response, 403)


async def test_another_professional_cannot_cancel_or_decide_the_doctors_own(
    api: Clients,
    world: World,
) -> None:
    me, ids = world.stranger_id, world.ids
    refused(
        await api["requests"].post(
            f"/practitioners/{me}/slots/{ids['slot_id']}/cancellation",
            headers=world.stranger,
            json={"reason": "not mine"},
        )
    )
    refused(
        await api["requests"].post(
            f"/practitioners/{me}/renewals/{ids['request_id']}/decision",
            headers=world.stranger,
            json={
                "decision": "approved",
                "valid_until": later(30),
                "items": [{"medication_id": ids["medication_id"], "packs": 2}],
            },
        )
    )


async def test_nothing_of_the_victim_changed_after_the_tries(api: Clients, world: World) -> None:
    vid, auth, ids = world.victim["citizen_id"], world.victim["auth"], world.ids
    consent = await api["consent"].get(
        f"/citizens/{vid}/consents/{ids['consent_id']}", headers=auth
    )
    assert consent.json()["status"] == "active"
    alerts = (await api["consent"].get(f"/citizens/{vid}/alerts", headers=auth)).json()
    assert [a["read"] for a in alerts if a["alert_id"] == ids["alert_id"]] == [False]
    appointments = (await api["requests"].get(f"/citizens/{vid}/appointments", headers=auth)).json()
    booked = [a for a in appointments["upcoming"] if a["appointment_id"] == ids["appointment_id"]]
    assert [a["status"] for a in booked] == ["booked"]
    renewal = await api["requests"].get(
        f"/citizens/{vid}/renewals/{ids['request_id']}", headers=auth
    )
    assert renewal.json()["status"] == "pending"


async def test_no_list_of_another_citizen_shows_the_victims_objects(
    api: Clients,
    world: World,
) -> None:
    me, auth = world.intruder["citizen_id"], world.intruder["auth"]
    lists = [
        ("consent", f"/citizens/{me}/consents"),
        ("consent", f"/citizens/{me}/alerts"),
        ("consent", f"/citizens/{me}/access-history"),
        ("requests", f"/citizens/{me}/appointments"),
        ("requests", f"/citizens/{me}/renewals"),
        ("requests", f"/citizens/{me}/referrals"),
        ("benefits", f"/citizens/{me}/exemptions"),
        ("records", f"/records/{me}/accesses"),
    ]
    for service, path in lists:
        response = await api[service].get(path, headers=auth)
        assert response.status_code == 200, (path, response.text)
        shown = response.text
        leaked = [name for name, value in world.ids.items() if value in shown]
        assert leaked == [], (path, leaked)


async def test_no_list_of_another_professional_shows_the_doctors_patients_or_requests(
    api: Clients,
    world: World,
) -> None:
    me = world.stranger_id
    lists = [
        ("requests", f"/practitioners/{me}/agenda"),
        ("requests", f"/practitioners/{me}/renewals"),
        ("requests", f"/practitioners/{me}/referrals"),
        ("records", "/professionals/me/patients"),
    ]
    for service, path in lists:
        response = await api[service].get(path, headers=world.stranger)
        assert response.status_code == 200, (path, response.text)
        leaked = [name for name, value in world.ids.items() if value in response.text]
        assert leaked == [], (path, leaked)
