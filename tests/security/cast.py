"""Who calls the platform in the security tests, with real tokens issued by identity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from rse_shared.auth import ROLES
from rse_shared.testing import eventually
from tests.e2e.conftest import Platform
from tests.e2e.flows import register_citizen, staff

CALLERS = ("anonymous", *ROLES)  # no token, then each role
PROBLEM = "application/problem+json"
HOSPITAL = "Hospital de Santa Maria"  # where the cast's hospital staff work
Clients = dict[str, httpx.AsyncClient]


@dataclass
class Cast:
    """One citizen (with a family doctor who may read their record) and every staff role
    (the hospital staff of the hospital the cast's referrals go to)."""

    citizen: dict[str, Any]
    practitioner_id: str
    health_unit: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def citizen_id(self) -> str:
        return str(self.citizen["citizen_id"])


async def professional(
    platform: Platform, api: Clients, health_unit: str = "USF Seguranca"
) -> tuple[str, dict[str, str]]:
    """A new professional: their practitioner id and auth header."""
    practitioner_id = f"P-{uuid.uuid4().hex[:10]}"
    header = await staff(
        platform.services["identity"],
        api["identity"],
        "professional",
        practitioner_id=practitioner_id,
        health_unit=health_unit,
    )
    return practitioner_id, header


async def operator(platform: Platform, api: Clients) -> dict[str, str]:
    return await staff(platform.services["identity"], api["identity"], "operator")


async def citizen(api: Clients, **overrides: Any) -> dict[str, Any]:
    """A newly registered, logged-in citizen (citizen_id, body, auth)."""
    return await register_citizen(api["identity"], **overrides)


async def with_family_doctor(
    platform: Platform, api: Clients, person: dict[str, Any], practitioner_id: str, health_unit: str
) -> None:
    assigned = await api["identity"].put(
        f"/citizens/{person['citizen_id']}/family-doctor",
        headers=await operator(platform, api),
        json={"practitioner_id": practitioner_id, "health_unit": health_unit},
    )
    assert assigned.status_code == 204, assigned.text


async def record_opened(api: Clients, person: dict[str, Any]) -> None:
    """Wait until records opened the citizen's record (from identity's event)."""

    async def opened() -> bool:
        response = await api["records"].get(
            f"/records/{person['citizen_id']}", headers=person["auth"]
        )
        return response.status_code == 200

    await eventually(opened, timeout=20)


async def grant(
    api: Clients,
    person: dict[str, Any],
    practitioner_id: str,
    categories: list[str],
    **validity: str,
) -> str:
    granted = await api["consent"].post(
        f"/citizens/{person['citizen_id']}/consents",
        headers=person["auth"],
        json={
            "grantee": {"kind": "professional", "id": practitioner_id},
            "categories": categories,
            **validity,
        },
    )
    assert granted.status_code == 201, granted.text
    return str(granted.json()["consent_id"])


async def read_status(
    api: Clients, person: dict[str, Any], category_path: str, headers: dict[str, str], **params: str
) -> int:
    response = await api["records"].get(
        f"/records/{person['citizen_id']}/{category_path}", headers=headers, params=params
    )
    return response.status_code


async def build_cast(platform: Platform, api: Clients) -> Cast:
    person = await citizen(api)
    practitioner_id, doctor = await professional(platform, api)
    cast = Cast(person, practitioner_id, "USF Seguranca")
    cast.headers = {
        "anonymous": {},
        "citizen": person["auth"],
        "professional": doctor,
        **{
            role: await staff(platform.services["identity"], api["identity"], role)
            for role in ("benefits_officer", "auditor", "operator")
        },
        "hospital_staff": await staff(
            platform.services["identity"], api["identity"], "hospital_staff", hospital=HOSPITAL
        ),
    }
    await with_family_doctor(platform, api, person, practitioner_id, cast.health_unit)
    await record_opened(api, person)
    await grant(api, person, practitioner_id, ["all"])

    async def doctor_may_read() -> bool:
        return await read_status(api, person, "health-summary", doctor) == 200

    await eventually(doctor_may_read, timeout=20)
    return cast


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with that status; its body."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"], body
    return body
