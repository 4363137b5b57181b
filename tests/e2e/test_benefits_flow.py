"""A citizen registered in identity asks benefits for exemptions, through real Kafka."""

from __future__ import annotations

from typing import Any

import pytest

from rse_shared.testing import eventually

from .conftest import Platform
from .flows import register_citizen, staff

pytestmark = pytest.mark.integration


async def exemption(platform: Platform, citizen: dict[str, Any], **body: Any) -> Any:
    """Request an exemption once benefits has learnt of the citizen from identity.events."""

    async def accepted() -> Any:
        response = await platform["benefits"].post(
            f"/citizens/{citizen['citizen_id']}/exemptions", json=body, headers=citizen["auth"]
        )
        return response if response.status_code != 409 else None

    return await eventually(accepted)


async def test_a_minor_registered_in_identity_is_exempt_by_rule(platform: Platform) -> None:
    child = await register_citizen(platform["identity"], date_of_birth="2014-07-01")
    response = await exemption(platform, child, category="minor")
    assert response.status_code == 201 and response.json()["status"] == "granted"


async def test_an_officer_decides_a_pregnancy_exemption(platform: Platform) -> None:
    citizen = await register_citizen(platform["identity"])
    requested = await exemption(
        platform,
        citizen,
        category="pregnancy",
        evidence=[{"kind": "medical declaration", "reference": "D-1"}],
    )
    assert requested.json()["status"] == "pending"
    officer = await staff(platform.services["identity"], platform["identity"], "benefits_officer")
    decided = await platform["benefits"].post(
        f"/exemptions/{requested.json()['exemption_id']}/decision",
        headers=officer,
        json={"decision": "granted", "valid_until": "2027-08-01", "reason": "declaration seen"},
    )
    assert decided.status_code == 200, decided.text

    async def exempt() -> bool:
        view = await platform["benefits"].get(
            f"/citizens/{citizen['citizen_id']}/benefits", headers=citizen["auth"]
        )
        return bool(view.json()["exempt_from_user_fees"])

    await eventually(exempt)
