"""A headless browser for the OpenID Connect provider (Keycloak's login form, for real).

It follows identity's /auth/oidc/start to the provider, fills in the provider's own login
form with a test user's credentials, and stops at the redirect back to identity: the
code and state are then handed to identity's callback, as a browser would.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx

FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)
TEST_PASSWORD = "citizen password 1"  # every test user's in deploy/keycloak/rse-realm.json


async def provider_redirect(identity: httpx.AsyncClient) -> str:
    """Where identity's /auth/oidc/start sends the browser (the provider's authorize URL)."""
    started = await identity.get("/auth/oidc/start")
    assert started.status_code == 302, started.text
    return started.headers["location"]


async def sign_in(
    authorize_url: str, username: str, password: str = TEST_PASSWORD
) -> dict[str, str]:
    """Log in at the provider; the query it redirects back to identity with (code, state)."""
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text[:500]
        found = FORM_ACTION.search(page.text)
        assert found, "no login form on the provider's page"
        # Keycloak marks its cookies Secure; browsers send those to 127.0.0.1 over plain
        # HTTP too (a loopback origin counts as secure), httpx does not: sent by hand.
        cookies = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)
        posted = await browser.post(
            html.unescape(found.group(1)),
            data={"username": username, "password": password, "credentialId": ""},
            headers={"Cookie": cookies},
            follow_redirects=False,
        )
    assert posted.status_code in (302, 303), posted.text[:500]
    query = parse_qs(urlsplit(posted.headers["location"]).query)
    return {name: values[0] for name, values in query.items()}


async def through_provider(identity: httpx.AsyncClient, username: str) -> httpx.Response:
    """The whole flow for a test user of the realm: identity's answer to the callback."""
    back = await sign_in(await provider_redirect(identity), username)
    return await identity.get("/auth/oidc/callback", params=back)  # code, state, iss
