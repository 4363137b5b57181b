"""Every endpoint of every service, by a proxy of each scope acting for the cast citizen.

The role matrix's table (test_role_matrix.TABLE) is the specification: a proxy reaches a
route only if the route's `scope` is theirs, or the route is public; 403 otherwise, as
problem+json, and never a 5xx.
"""

from __future__ import annotations

import pytest

from rse_shared.proxy import OPENS, SCOPES
from tests.e2e.conftest import Platform
from tests.e2e.flows import register_citizen
from tests.e2e.proxies import acting_for, appoint

from .cast import PROBLEM, Cast, Clients
from .test_role_matrix import ANYONE, EVERY_SCOPE, TABLE, Rule

pytestmark = pytest.mark.integration


def test_every_citizen_route_a_scope_opens_is_the_citizen_s_own() -> None:
    """A scope only narrows what the represented citizen may do: never a staff route."""
    for rule in TABLE:
        assert rule.scope is None or "citizen" in rule.allowed, str(rule)


def test_the_table_s_scopes_are_the_scopes_the_platform_opens() -> None:
    """The table is the specification; rse_shared.proxy.OPENS is what the guard enforces."""
    tabled = {
        (r.service, r.method, r.path, r.scope) for r in TABLE if r.scope not in (None, EVERY_SCOPE)
    }
    opened = {(e.service, e.method, e.path, s) for s, ends in OPENS.items() for e in ends}
    assert tabled == opened


@pytest.fixture(scope="session")
async def proxies(platform: Platform, api: Clients, cast: Cast) -> dict[str, dict[str, str]]:
    """For each scope, a caregiver of the cast citizen holding that scope only, acting."""
    identity, headers = api["identity"], {}
    for scope in SCOPES:
        proxy = await register_citizen(identity)
        appointed = await appoint(identity, cast.citizen, proxy, [scope])
        assert appointed.status_code == 201, appointed.text
        relationship = appointed.json()["relationship_id"]
        accepted = await identity.post(f"/proxies/{relationship}/acceptance", headers=proxy["auth"])
        assert accepted.status_code == 204, accepted.text
        headers[scope] = await acting_for(identity, proxy, cast.citizen)
    return headers


def proxy_verdict(rule: Rule, scope: str, status: int, content_type: str) -> str | None:
    """What is wrong with this answer to a proxy holding `scope`, if anything."""
    if status >= 500:
        return "server error"
    if rule.allowed == ANYONE or rule.scope in (scope, EVERY_SCOPE):
        return "refused, but the scope opens it" if status in (401, 403) else None
    if status != 403:
        return "expected 403"
    return None if content_type.startswith(PROBLEM) else "refusal is not problem+json"


@pytest.mark.parametrize("rule", TABLE, ids=str)
async def test_each_proxy_reaches_only_what_its_scope_opens(
    rule: Rule, api: Clients, cast: Cast, proxies: dict[str, dict[str, str]]
) -> None:
    """Attacker: a caregiver trusted with one part of a citizen's affairs reaching for the
    rest. Stopped by: the proxy guard in `authenticated`, which opens a route only to the
    scope the table names (and no staff route to any), 403 otherwise."""
    wrong = []
    for scope, header in proxies.items():
        body = rule.body(cast) if rule.body else None
        response = await api[rule.service].request(
            rule.method, rule.url(cast), json=body, headers=header
        )
        problem = proxy_verdict(
            rule, scope, response.status_code, response.headers.get("content-type", "")
        )
        if problem:
            wrong.append(f"{scope}: {response.status_code} ({problem}) {response.text[:150]}")
    assert wrong == []
