"""A NUL byte in a text field is refused with 4xx problem+json, never stored.

MongoDB-wire storage here is FerretDB on PostgreSQL, which cannot hold U+0000 in a string:
a NUL that reaches the event store makes every projection that copies the field fail on
that event, again at each restart, and nothing after it is ever projected. So these tests
run on a quarantine platform of their own, never on the one the other tests share.
"""

from __future__ import annotations

from typing import Any

import pytest

from rse_shared.testing import eventually
from tests.e2e.conftest import Platform

from .cast import Cast, build_cast, citizen, problem_of, professional
from .test_malformed_input import WRITES, Write, at, replaced, string_leaves

pytestmark = pytest.mark.integration


def with_nul(value: str) -> str:
    return f"{value[:1]}\x00{value[1:]}"


@pytest.fixture(scope="module")
async def q_cast(quarantine: Platform) -> Cast:
    return await build_cast(quarantine, quarantine.clients)


async def test_a_nul_byte_sent_once_does_not_stop_later_registrations_from_showing(
    quarantine: Platform,
    q_cast: Cast,
) -> None:
    api = quarantine.clients
    await api["identity"].post(
        "/citizens", json={**WRITES[0].body(q_cast), "full_name": with_nul("Ana Silva")}
    )
    later = await citizen(api)

    async def shown() -> bool:
        me = await api["identity"].get("/citizens/me", headers=later["auth"])
        record = await api["records"].get(f"/records/{later['citizen_id']}", headers=later["auth"])
        return me.status_code == record.status_code == 200

    await eventually(shown, timeout=15)


async def test_a_nul_byte_in_a_stated_emergency_reason_is_refused(
    quarantine: Platform,
    q_cast: Cast,
) -> None:
    _, stranger = await professional(quarantine, quarantine.clients)  # no consent: emergency
    response = await quarantine.clients["records"].post(
        f"/records/{q_cast.citizen_id}/vaccinations/emergency",
        headers=stranger,
        json={"reason": with_nul("unconscious in the emergency room")},
    )
    assert 400 <= response.status_code < 500, response.status_code
    problem_of(response, response.status_code)


ACCEPTS_NUL = {  # the fields each one stores with the NUL in it (as this test found them)
    "identity POST /citizens": "full_name, address (and password, which is only hashed)",
    "identity PATCH /citizens/{citizen_id}/contacts": "address",
    "records POST /records/{citizen_id}/health-summary/allergies": "allergy",
    "records PUT /records/{citizen_id}/care-plan": (
        "goals[], interventions[], responsible_professional"
    ),
    "records POST /records/{citizen_id}/vaccinations": "vaccine, lot",
    "requests POST /referrals": "specialty, hospital",
    "benefits POST /citizens/{citizen_id}/exemptions": "evidence[].kind (and .reference)",
}


def case(write: Write) -> Any:
    return pytest.param(write, id=str(write))


@pytest.mark.parametrize("write", [case(w) for w in WRITES])
async def test_a_nul_byte_in_any_text_field_is_refused(
    write: Write,
    quarantine: Platform,
    q_cast: Cast,
) -> None:
    accepted = []
    for path in string_leaves(write.body(q_cast)):
        body = write.body(q_cast)  # a fresh one each time: new NIF, new lot, ...
        response = await quarantine.clients[write.service].request(
            write.method,
            write.url(q_cast),
            headers=q_cast.headers[write.caller],
            json=replaced(body, path, with_nul(str(at(body, path)))),
        )
        assert response.status_code < 500, (path, response.text)
        if response.status_code < 400:
            accepted.append(f"{'.'.join(map(str, path))}: {response.status_code}")
        else:
            problem_of(response, response.status_code)
    assert accepted == []
