"""Operators read personal data only with a stated purpose, and every such read is published."""

from __future__ import annotations

import uuid

import httpx
import jwt
import pytest

from rse_shared.contracts import PersonalDataRead
from rse_shared.service import Service
from rse_shared.testing import Counter, documents, events_of, eventually, read_topic, staff_login

from .test_api import assert_problem, bearer, register, token_for, visible

pytestmark = pytest.mark.integration

WHY = "citizen called the help line about their address"


async def an_operator(client: httpx.AsyncClient, identity: Service) -> str:
    name = f"op.{uuid.uuid4().hex[:8]}"
    identity.app.provision_staff(username=name, password="operator password", role="operator")
    return await staff_login(client, name, "operator password")


async def reads_up_to(identity: Service, topic: str, purpose: str) -> list[PersonalDataRead]:
    """The reads published up to the one stated with `purpose` (one citizen: one partition)."""

    async def until_marked() -> list[PersonalDataRead] | None:
        records = await read_topic(identity.settings.kafka_bootstrap, topic, timeout=3)
        events = events_of(records)
        reads = [e for e in events if isinstance(e, PersonalDataRead)]
        return reads if any(r.purpose == purpose for r in reads) else None

    return await eventually(until_marked, timeout=20)


async def marked_read(client: httpx.AsyncClient, citizen_id: str, operator: str) -> str:
    """A read with a purpose of its own, after which nothing else may have been published."""
    marker = f"{WHY} ({uuid.uuid4().hex[:6]})"
    response = await client.get(
        f"/citizens/{citizen_id}", headers=bearer(operator), params={"purpose": marker}
    )
    assert response.status_code == 200, response.text
    return marker


async def test_an_operator_without_a_purpose_reads_nothing_and_nothing_is_recorded(
    client: httpx.AsyncClient, identity: Service, fresh_topic: str, counter: Counter
) -> None:
    operator = await an_operator(client, identity)
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    await visible(client, citizen_id, await token_for(client, body))  # in the directory
    path = f"/citizens/{citizen_id}"
    assert_problem(await client.get(path, headers=bearer(operator)), 422)
    short = await client.get(path, headers=bearer(operator), params={"purpose": "why"})
    assert_problem(short, 422)
    blank = await client.get(path, headers=bearer(operator), params={"purpose": " " * 12})
    assert_problem(blank, 422)
    assert "full_name" not in short.text
    marker = await marked_read(client, citizen_id, operator)
    reads = await reads_up_to(identity, fresh_topic, marker)
    assert [r.purpose for r in reads] == [marker]  # the refused reads left nothing


async def test_an_operators_read_with_a_purpose_is_saved_and_published_before_the_answer(
    client: httpx.AsyncClient, identity: Service, fresh_topic: str, counter: Counter
) -> None:
    operator = await an_operator(client, identity)
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    own = await visible(client, citizen_id, await token_for(client, body))
    read = await client.get(
        f"/citizens/{citizen_id}", headers=bearer(operator), params={"purpose": WHY}
    )
    assert read.status_code == 200 and read.json()["full_name"] == own["full_name"]
    [event] = await reads_up_to(identity, fresh_topic, WHY)
    actor = jwt.decode(operator, options={"verify_signature": False})["sub"]
    assert str(event.citizen_id) == citizen_id and event.producer == "identity"
    assert (event.actor_id, event.role, event.purpose) == (actor, "operator", WHY)
    wire = str(documents(await read_topic(identity.settings.kafka_bootstrap, fresh_topic))[-1])
    assert own["email"] not in wire and own["address"] not in wire  # never the data read


async def test_the_citizens_own_reads_need_no_purpose_and_are_not_published(
    client: httpx.AsyncClient, identity: Service, fresh_topic: str, counter: Counter
) -> None:
    citizen_id, body = await register(client)
    await counter.activate(citizen_id, body["sns_number"])
    token = await token_for(client, body)
    await visible(client, citizen_id, token)
    assert (await client.get(f"/citizens/{citizen_id}", headers=bearer(token))).status_code == 200
    marker = await marked_read(client, citizen_id, await an_operator(client, identity))
    assert [r.purpose for r in await reads_up_to(identity, fresh_topic, marker)] == [marker]


async def test_hospital_staff_are_provisioned_with_the_hospital_they_work_for(
    client: httpx.AsyncClient, identity: Service
) -> None:
    operator = await an_operator(client, identity)
    account = {"username": f"hs.{uuid.uuid4().hex[:8]}", "password": "hospital staff pw"}
    staff = {**account, "role": "hospital_staff", "hospital": "Hospital de Santa Maria"}
    created = await client.post("/staff", headers=bearer(operator), json=staff)
    assert created.status_code == 201, created.text
    token = await staff_login(client, account["username"], account["password"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["role"], claims["hospital"]) == ("hospital_staff", "Hospital de Santa Maria")
    nameless = {**staff, "username": f"hs.{uuid.uuid4().hex[:8]}", "hospital": None}
    assert_problem(await client.post("/staff", headers=bearer(operator), json=nameless), 422)
    auditor = {**staff, "username": f"au.{uuid.uuid4().hex[:8]}", "role": "auditor"}
    assert_problem(await client.post("/staff", headers=bearer(operator), json=auditor), 422)
