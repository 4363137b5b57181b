"""A professional reads a record only under a consent in force that covers what is read.

Each test has a citizen and a doctor of its own. Where a test must know that records has
seen a consent before asserting a refusal, a second consent for vaccinations is granted
after it: consent's events for one citizen arrive in order, so once vaccinations may be
read, the consent granted before is known too.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rse_records.api import NO_CONSENT
from rse_shared.testing import eventually
from tests.e2e.conftest import Platform

from .cast import (
    Clients,
    citizen,
    grant,
    problem_of,
    professional,
    read_status,
    record_opened,
    with_family_doctor,
)

pytestmark = pytest.mark.integration

CATEGORIES = {
    "health_summary": "health-summary",
    "vaccinations": "vaccinations",
    "care_plan": "care-plan",
    "prescriptions": "prescriptions",
}


class Scene:
    """A citizen whose record is open, and a doctor with no consent yet."""

    def __init__(
        self, api: Clients, person: dict[str, Any], doctor_id: str, doctor: dict[str, str]
    ) -> None:
        self.api, self.person, self.doctor_id, self.doctor = api, person, doctor_id, doctor

    async def status(
        self, category: str, headers: dict[str, str] | None = None, **params: str
    ) -> int:
        return await read_status(
            self.api, self.person, CATEGORIES[category], headers or self.doctor, **params
        )

    async def readable(self, category: str, within: float = 20) -> None:
        async def permitted() -> bool:
            return await self.status(category) == 200

        await eventually(permitted, timeout=within)

    async def grant(self, categories: list[str], **validity: str) -> str:
        return await grant(self.api, self.person, self.doctor_id, categories, **validity)

    async def refused_everywhere_but(self, *allowed: str) -> None:
        for category in CATEGORIES:
            if category not in allowed:
                response = await self.api["records"].get(
                    f"/records/{self.person['citizen_id']}/{CATEGORIES[category]}",
                    headers=self.doctor,
                )
                assert problem_of(response, 403)["detail"] == NO_CONSENT, category


@pytest.fixture
async def scene(platform: Platform, api: Clients) -> Scene:
    person = await citizen(api)
    doctor_id, doctor = await professional(platform, api)
    await record_opened(api, person)
    # The writer is the family doctor (a care relationship), who still reads by consent only.
    await with_family_doctor(platform, api, person, doctor_id, "USF Seguranca")

    async def written() -> bool:
        # A care plan, so that every category has content to withhold.
        response = await api["records"].put(
            f"/records/{person['citizen_id']}/care-plan",
            headers=doctor,
            json={"goals": ["HbA1c < 7%"], "responsible_professional": "Dr"},
        )
        return response.status_code == 204

    await eventually(written, timeout=20)
    return Scene(api, person, doctor_id, doctor)


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_without_consent_no_category_can_be_read(scene: Scene) -> None:
    await scene.refused_everywhere_but()


async def test_a_refusal_looks_the_same_whether_or_not_the_record_exists(
    scene: Scene,
    api: Clients,
) -> None:
    nobody = await api["records"].get(f"/records/{uuid.uuid4()}/vaccinations", headers=scene.doctor)
    someone = await api["records"].get(
        f"/records/{scene.person['citizen_id']}/vaccinations", headers=scene.doctor
    )
    assert problem_of(nobody, 403) == problem_of(someone, 403)


async def test_every_refused_read_is_shown_to_the_citizen_as_a_denial(
    scene: Scene,
    api: Clients,
) -> None:
    assert await scene.status("prescriptions") == 403

    async def denial_shown() -> bool:
        history = (
            await api["consent"].get(
                f"/citizens/{scene.person['citizen_id']}/access-history",
                headers=scene.person["auth"],
            )
        ).json()
        return any(
            a["decision"] == "deny" and a["practitioner_id"] == scene.doctor_id for a in history
        )

    await eventually(denial_shown, timeout=20)


async def test_a_consent_opens_only_the_categories_it_covers(scene: Scene) -> None:
    await scene.grant(["vaccinations"])
    await scene.readable("vaccinations")
    await scene.refused_everywhere_but("vaccinations")


async def test_after_revocation_nothing_can_be_read(scene: Scene, api: Clients) -> None:
    consent_id = await scene.grant(["all"])
    await scene.readable("health_summary")
    revoked = await api["consent"].post(
        f"/citizens/{scene.person['citizen_id']}/consents/{consent_id}/revocation",
        headers=scene.person["auth"],
    )
    assert revoked.status_code == 200, revoked.text

    async def refused() -> bool:
        return await scene.status("health_summary") == 403

    await eventually(refused, timeout=20)
    await scene.refused_everywhere_but()


async def test_after_its_end_a_consent_no_longer_authorises(scene: Scene) -> None:
    ends = time.monotonic() + 8
    await scene.grant(["all"], valid_until=in_seconds(8))
    await scene.readable("care_plan", within=7)  # known to records before it ends
    await asyncio.sleep(max(0.0, ends - time.monotonic()) + 0.5)
    await scene.refused_everywhere_but()


async def test_a_consent_starting_later_does_not_authorise_now(scene: Scene) -> None:
    await scene.grant(["all"], valid_from=in_seconds(3600))
    await scene.grant(["vaccinations"])  # granted after: once it is known, so is the first
    await scene.readable("vaccinations")
    await scene.refused_everywhere_but("vaccinations")


async def test_a_consent_to_another_professional_does_not_authorise_this_one(
    scene: Scene,
    platform: Platform,
    api: Clients,
) -> None:
    colleague_id, colleague = await professional(platform, api)
    await grant(api, scene.person, colleague_id, ["all"])
    await scene.grant(["vaccinations"])
    await scene.readable("vaccinations")
    assert await scene.status("care_plan", colleague) == 200  # the colleague's consent works
    await scene.refused_everywhere_but("vaccinations")


async def test_another_citizens_consent_does_not_open_this_record(
    scene: Scene,
    api: Clients,
) -> None:
    other = await citizen(api)
    await record_opened(api, other)
    await grant(api, other, scene.doctor_id, ["all"])

    async def other_readable() -> bool:
        return await read_status(api, other, "vaccinations", scene.doctor) == 200

    await eventually(other_readable, timeout=20)
    await scene.refused_everywhere_but()


@pytest.mark.parametrize("kid", ["identity's kid", "a kid of its own"])
async def test_a_token_signed_by_another_key_claiming_the_doctor_is_refused(
    kid: str,
    scene: Scene,
    platform: Platform,
) -> None:
    await scene.grant(["all"])
    await scene.readable("vaccinations")
    issuer = platform.services["identity"].api.state.token_issuer
    now = int(time.time())
    forged = jwt.encode(
        {
            "sub": str(uuid.uuid4()),
            "role": "professional",
            "practitioner_id": scene.doctor_id,
            "health_unit": "USF Seguranca",
            "iss": issuer.issuer,
            "aud": "rse-records",  # all but the key as identity would sign it for records
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        },
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={
            "kid": issuer.kid if kid == "identity's kid" else uuid.uuid4().hex,
            "typ": "at+jwt",
        },
    )
    for category in CATEGORIES.values():
        response = await scene.api["records"].get(
            f"/records/{scene.person['citizen_id']}/{category}",
            headers={"Authorization": f"Bearer {forged}"},
        )
        problem_of(response, 401)


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
async def test_breaking_the_glass_needs_a_stated_reason(reason: str, scene: Scene) -> None:
    status = await scene.status("vaccinations", emergency_reason=reason)
    assert status in (403, 422), status


@pytest.mark.parametrize(
    "reason", ["", "urgent", "x" * 40, "unconscious!!!!!!!!!!!!!!!", "found unconscious"]
)
async def test_breaking_the_glass_needs_a_sentence_in_the_body(reason: str, scene: Scene) -> None:
    response = await scene.api["records"].post(
        f"/records/{scene.person['citizen_id']}/vaccinations/emergency",
        headers=scene.doctor,
        json={"reason": reason},
    )
    problem_of(response, 422)


async def test_a_reason_in_the_url_is_refused_even_when_it_would_do(scene: Scene) -> None:
    # A query string ends up in proxies' and servers' access logs: never a reason there.
    status = await scene.status("vaccinations", emergency_reason="found unconscious at home")
    assert status == 422


async def test_a_purpose_other_than_treatment_is_refused(scene: Scene) -> None:
    await scene.grant(["all"])
    await scene.readable("vaccinations")
    assert await scene.status("vaccinations", purpose="marketing") == 422
