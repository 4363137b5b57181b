"""Steps of acting for someone that the end-to-end and security tests share."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from rse_shared.proxy import TOKEN_EXCHANGE
from rse_shared.testing.logins import remember

from .flows import staff


def born_years_ago(years: int, days: int = 30) -> str:
    """A date of birth `years` (and `days`) ago."""
    today = date.today()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return str(anniversary - timedelta(days=days))


async def operator_of(platform: Any) -> dict[str, str]:
    return await staff(platform.services["identity"], platform.clients["identity"], "operator")


async def make_guardian(
    platform: Any, identity: httpx.AsyncClient, minor: dict[str, Any], parent: dict[str, Any]
) -> str:
    """An operator, the birth certificate checked, makes `parent` the minor's guardian."""
    made = await identity.post(
        "/guardianships",
        headers=await operator_of(platform),
        json={
            "minor_id": minor["citizen_id"],
            "guardian_id": parent["citizen_id"],
            "documents": "birth certificate 1234/2010",
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["relationship_id"])


async def appoint(
    identity: httpx.AsyncClient,
    represented: dict[str, Any],
    proxy: dict[str, Any],
    scopes: list[str],
    kind: str = "informal_caregiver",
    **extra: Any,
) -> httpx.Response:
    return await identity.post(
        f"/citizens/{represented['citizen_id']}/proxies",
        headers=represented["auth"],
        json={"kind": kind, "proxy_id": proxy["citizen_id"], "scopes": scopes, **extra},
    )


async def exchange(
    identity: httpx.AsyncClient, proxy_auth: dict[str, str], subject: str, scope: str | None = None
) -> httpx.Response:
    """RFC 8693: the proxy's own token for one acting for `subject`."""
    body: dict[str, Any] = {"grant_type": TOKEN_EXCHANGE, "subject": subject}
    if scope is not None:
        body["scope"] = scope
    return await identity.post("/auth/token/exchange", headers=proxy_auth, json=body)


async def acting_for(
    identity: httpx.AsyncClient, proxy: dict[str, Any], represented: dict[str, Any]
) -> dict[str, str]:
    """The auth header of `proxy` acting for `represented`."""
    response = await exchange(identity, proxy["auth"], represented["citizen_id"])
    assert response.status_code == 200, response.text
    token = str(response.json()["access_token"])
    return remember(identity, token, proxy["body"]["sns_number"], proxy["body"]["password"])
