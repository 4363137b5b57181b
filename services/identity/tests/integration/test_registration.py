"""Registration bound to a proven identity, on the real servers and the real provider
(Keycloak's realm rse, deploy/keycloak/rse-realm.json): the provider's login form, the
counter's code, and the races a second registration would try."""

from __future__ import annotations

import asyncio

import httpx
import jwt
import pytest

from rse_identity.domain.oidc_login import OidcLoginRefused
from rse_identity.oidc import OidcProvider
from rse_shared.contracts import CitizenActivated, CitizenRegistered
from rse_shared.service import Service
from rse_shared.testing import Counter, events_of, eventually, read_topic
from rse_shared.testing.oidc import provider_redirect, sign_in, through_provider

from .test_api import a_registration, assert_problem, bearer, login, register

pytestmark = pytest.mark.integration

ANA = {"sns_number": "410000001", "nif": "234567899", "full_name": "Ana Silva"}
JOAO = {"sns_number": "410000002", "nif": "210987650"}


async def my_data(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        answer = await client.get("/citizens/me", headers=bearer(token))
        return answer.json() if answer.status_code == 200 else None

    return await eventually(probe)


async def test_a_citizen_registers_through_the_provider_with_its_claims(
    client: httpx.AsyncClient, identity: Service, fresh_topic: str
) -> None:
    answer = await through_provider(client, "ana.silva")
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["amr"] == ["fed"]
    data = await my_data(client, token)
    assert {k: data[k] for k in ANA} == ANA and data["date_of_birth"] == "1980-05-17"

    async def published() -> list[object] | None:
        records = await read_topic(identity.settings.kafka_bootstrap, fresh_topic, timeout=2)
        events = events_of(records)
        kinds = [type(e) for e in events]
        return events if CitizenActivated in kinds and CitizenRegistered in kinds else None

    events = await eventually(published)
    [activated] = [e for e in events if isinstance(e, CitizenActivated)]
    assert activated.method == "oidc" and str(activated.citizen_id) == data["citizen_id"]
    again = await through_provider(client, "ana.silva")  # found, not registered twice
    assert (await my_data(client, again.json()["access_token"]))["citizen_id"] == data["citizen_id"]


@pytest.mark.parametrize("user", ["bad.nif", "no.sns"])
async def test_claims_that_name_no_citizen_are_refused(
    client: httpx.AsyncClient, user: str
) -> None:
    answer = await through_provider(client, user)
    assert_problem(answer, 403)
    assert "access_token" not in answer.text


async def test_a_replayed_or_unknown_state_is_refused(client: httpx.AsyncClient) -> None:
    back = await sign_in(await provider_redirect(client), "ana.silva")
    query = {"code": back["code"], "state": back["state"]}
    assert (await client.get("/auth/oidc/callback", params=query)).status_code == 200
    assert_problem(await client.get("/auth/oidc/callback", params=query), 401)  # replayed
    unknown = {"code": back["code"], "state": "a state identity never issued"}
    assert_problem(await client.get("/auth/oidc/callback", params=unknown), 401)


async def test_an_answer_naming_another_issuer_is_not_redeemed(client: httpx.AsyncClient) -> None:
    back = await sign_in(await provider_redirect(client), "ana.silva")
    mixed_up = {**back, "iss": "http://127.0.0.1:18080/realms/another"}
    assert_problem(await client.get("/auth/oidc/callback", params=mixed_up), 401)


async def test_the_provider_refuses_a_code_without_its_pkce_verifier(
    identity: Service,
) -> None:
    settings = identity.settings
    assert settings.oidc_issuer, "RSE_OIDC_ISSUER: infra.sh env names the local Keycloak"
    provider = OidcProvider(
        settings.oidc_issuer, settings.oidc_client_id, settings.oidc_redirect_uri
    )
    request = await provider.authorization_request()
    back = await sign_in(request.url, "ana.silva")
    with pytest.raises(OidcLoginRefused, match="refused the code"):
        await provider.redeem(back["code"], "another verifier" * 4, request.nonce)


async def test_the_provider_activates_a_citizen_registered_through_the_form(
    client: httpx.AsyncClient,
) -> None:
    citizen_id, body = await register(client, **JOAO)
    assert_problem(await login(client, body["sns_number"], body["password"]), 401)
    answer = await through_provider(client, "joao.costa")
    assert answer.status_code == 200, answer.text
    assert (await my_data(client, answer.json()["access_token"]))["citizen_id"] == citizen_id
    assert (await login(client, body["sns_number"], body["password"])).status_code == 200


async def test_the_provider_cannot_take_over_a_number_registered_with_another_nif(
    client: httpx.AsyncClient,
) -> None:
    await register(client, sns_number=ANA["sns_number"])  # someone else's NIF
    assert_problem(await through_provider(client, "ana.silva"), 403)


async def test_a_citizen_not_activated_cannot_log_in_and_is_told_what_a_wrong_password_is(
    client: httpx.AsyncClient,
) -> None:
    _, body = await register(client)
    inactive = await login(client, body["sns_number"], body["password"])
    wrong = await login(client, body["sns_number"], "not the password at all")
    assert_problem(inactive, 401)
    assert (inactive.status_code, inactive.json()) == (wrong.status_code, wrong.json())


async def test_the_counter_code_is_for_operators_single_use_and_opens_the_login(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    citizen_id, body = await register(client)
    path = f"/citizens/{citizen_id}/activation-codes"
    assert_problem(await client.post(path), 401)
    issued = await client.post(path, headers=counter.operator)
    assert issued.status_code == 201, issued.text
    activation = {"sns_number": body["sns_number"], "code": issued.json()["code"]}
    assert (await client.post("/citizens/activate", json=activation)).status_code == 204
    assert_problem(await client.post("/citizens/activate", json=activation), 401)  # spent
    token = (await login(client, body["sns_number"], body["password"])).json()["access_token"]
    assert_problem(await client.post(path, headers=bearer(token)), 403)  # a citizen's token
    assert_problem(await client.post(path, headers=counter.operator), 409)  # already active


async def test_parallel_wrong_guesses_burn_the_code_after_five(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    citizen_id, body = await register(client)
    code = await counter.issue_code(citizen_id)
    guess = {"sns_number": body["sns_number"], "code": "WRONG23456"}
    answers = await asyncio.gather(
        *[client.post("/citizens/activate", json=guess) for _ in range(12)]
    )
    assert [a.status_code for a in answers] == [401] * 12
    right = {"sns_number": body["sns_number"], "code": code}
    assert_problem(await client.post("/citizens/activate", json=right), 401)


async def test_at_most_five_codes_a_day_then_retry_after(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    citizen_id, _ = await register(client)
    for _ in range(5):
        await counter.issue_code(citizen_id)
    sixth = await client.post(f"/citizens/{citizen_id}/activation-codes", headers=counter.operator)
    assert_problem(sixth, 429)
    assert int(sixth.headers["Retry-After"]) > 23 * 3600


@pytest.mark.parametrize("shared", ["sns_number", "nif"])
async def test_racing_registrations_of_one_number_make_one_citizen(
    client: httpx.AsyncClient, shared: str
) -> None:
    first = a_registration()
    bodies = [{**a_registration(), shared: first[shared]} for _ in range(8)]
    answers = await asyncio.gather(*[client.post("/citizens", json=b) for b in bodies])
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 7, [a.text for a in answers]
