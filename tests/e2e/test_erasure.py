"""Erasure by crypto-shredding, end to end: an operator erases a citizen; their data key is
destroyed, every service forgets them, a projection rebuild does not bring them back, and
the auditor's log still verifies and replays — with the citizen shown as erased."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from rse_shared.kafka import ADMIN, tool_options
from rse_shared.testing import eventually, read_topic

from .conftest import Platform
from .flows import register_citizen, replay_equals_live, staff

pytestmark = pytest.mark.integration


async def a_citizen_with_a_record(platform: Platform) -> dict[str, Any]:
    """A citizen whose family doctor recorded an allergy and a vaccination they consented to."""
    identity, records, consent = platform["identity"], platform["records"], platform["consent"]
    citizen = await register_citizen(identity)
    cid = citizen["citizen_id"]
    unit = {"practitioner_id": f"P-{uuid.uuid4().hex[:6]}", "health_unit": "USF Tejo"}
    doctor = await staff(platform.services["identity"], identity, "professional", **unit)
    operator = await staff(platform.services["identity"], identity, "operator")
    assigned = await identity.put(f"/citizens/{cid}/family-doctor", headers=operator, json=unit)
    assert assigned.status_code == 204, assigned.text
    vaccine = {"vaccine": "Td", "dose_number": 1, "administered_on": "2026-10-01", "lot": "L1"}

    async def recorded() -> bool:
        answer = await records.post(f"/records/{cid}/vaccinations", json=vaccine, headers=doctor)
        return answer.status_code == 201

    await eventually(recorded)
    granted = await consent.post(
        f"/citizens/{cid}/consents",
        headers=citizen["auth"],
        json={
            "grantee": {"kind": "professional", "id": unit["practitioner_id"]},
            "categories": ["vaccinations"],
        },
    )
    assert granted.status_code == 201, granted.text

    async def read() -> bool:
        answer = await records.get(f"/records/{cid}/vaccinations", headers=doctor)
        return answer.status_code == 200

    await eventually(read)
    return {**citizen, "doctor": doctor, "operator": operator}


async def documents_of(platform: Platform, citizen_id: str) -> list[str]:
    """Where any service's read models still hold a document of the citizen."""
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(
        platform.services["identity"].settings.mongo_url
    )
    found = []
    try:
        for name, service in platform.services.items():
            db = mongo[service.settings.mongo_db]
            for collection in await db.list_collection_names():
                query = {"$or": [{"citizen_id": citizen_id}, {"_id": citizen_id}]}
                if await db[collection].find_one(query) is not None:
                    found.append(f"{name}.{collection}")
    finally:
        await mongo.close()
    return found


async def dead_letters_naming(platform: Platform, citizen_id: str) -> list[str]:
    bootstrap = platform.services["identity"].settings.kafka_bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    ours = [
        t for t in names if t.endswith(".dlq") and any(p in t for p in platform.topics.values())
    ]
    found = []
    for topic in ours:
        for record in await read_topic(bootstrap, topic):
            if citizen_id.encode() in (record.value or b""):
                found.append(topic)
    return found


async def test_an_erased_citizen_is_gone_from_every_service_and_the_audit_still_holds(
    platform: Platform, tmp_path: Path
) -> None:
    identity, records, consent = platform["identity"], platform["records"], platform["consent"]
    citizen = await a_citizen_with_a_record(platform)
    cid, operator, doctor = citizen["citizen_id"], citizen["operator"], citizen["doctor"]
    erasure = {"legal_basis": "wrongly_registered", "reference": "counter case 2026/118"}

    for caller in (citizen["auth"], doctor):  # only an operator erases
        refused = await identity.post(f"/citizens/{cid}/erasure", json=erasure, headers=caller)
        assert refused.status_code == 403, refused.text
    erased = await identity.post(f"/citizens/{cid}/erasure", json=erasure, headers=operator)
    assert erased.status_code == 204, erased.text
    again = await identity.post(f"/citizens/{cid}/erasure", json=erasure, headers=operator)
    assert again.status_code == 204, again.text  # harmless the second time

    left: list[str] = []

    async def forgotten() -> bool:
        left[:] = await documents_of(platform, cid)
        return not left

    try:
        await eventually(forgotten, timeout=30)
    except pytest.fail.Exception:
        pytest.fail(f"still held after the erasure: {left}")
    read = await records.get(f"/records/{cid}/vaccinations", headers=doctor)
    assert read.status_code in (403, 404), read.text
    written = await records.post(
        f"/records/{cid}/vaccinations",
        headers=doctor,
        json={"vaccine": "Td", "dose_number": 2, "administered_on": "2026-11-01", "lot": "L2"},
    )
    assert written.status_code in (403, 404), written.text  # nothing new under a dead key
    personal = await identity.get(
        f"/citizens/{cid}", headers=operator, params={"purpose": "checking the erasure"}
    )
    assert personal.status_code == 404, personal.text
    history = await consent.get(f"/citizens/{cid}/access-history", headers=citizen["auth"])
    assert history.status_code in (200, 404) and "P-" not in history.text, history.text
    relogin = await identity.post(
        "/auth/token",
        json={"username": citizen["body"]["sns_number"], "password": citizen["body"]["password"]},
    )
    assert relogin.status_code in (401, 403), relogin.text

    for service in platform.services.values():  # a rebuild replays the log: still gone
        for projector in service.projectors.values():
            await projector.rebuild()
    assert await documents_of(platform, cid) == []
    assert await dead_letters_naming(platform, cid) == []  # skipped cleanly, no DLQ storm

    await replay_equals_live(platform, tmp_path)  # verify, replay and compare pass
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        kept = db.execute(
            "SELECT legal_basis, reference FROM erasures WHERE citizen_id = ?", (cid,)
        ).fetchall()
        accesses = db.execute("SELECT count(*) FROM accesses WHERE citizen_id = ?", (cid,))
        assert kept == [("wrongly_registered", "counter case 2026/118")]
        assert accesses.fetchone()[0] >= 1  # that accesses happened, when and by whom, stays


async def test_erasure_of_an_unknown_citizen_or_with_a_bad_body_is_refused(
    platform: Platform,
) -> None:
    identity = platform["identity"]
    operator = await staff(platform.services["identity"], identity, "operator")
    body = {"legal_basis": "legal_order", "reference": "court order 77/2026"}
    unknown = await identity.post(f"/citizens/{uuid.uuid4()}/erasure", json=body, headers=operator)
    assert unknown.status_code == 404, unknown.text
    for bad in ({"legal_basis": "because", "reference": "x"}, {"legal_basis": "legal_order"}):
        citizen = await register_citizen(identity)
        answer = await identity.post(
            f"/citizens/{citizen['citizen_id']}/erasure", json=bad, headers=operator
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_the_person_a_wrongly_registered_number_belongs_to_registers_after_the_erasure(
    platform: Platform,
) -> None:
    """Someone registered with another person's SNS number and NIF; an operator erased that
    registration. The rightful person then registers with those numbers: a new citizen
    (new id, new record), their own password, nothing of the erased one."""
    identity, records = platform["identity"], platform["records"]
    operator = await staff(platform.services["identity"], identity, "operator")
    impostor = await register_citizen(identity)
    numbers = {k: impostor["body"][k] for k in ("sns_number", "nif")}
    erasure = {"legal_basis": "wrongly_registered", "reference": "counter case 2026/119"}
    erased = await identity.post(
        f"/citizens/{impostor['citizen_id']}/erasure", json=erasure, headers=operator
    )
    assert erased.status_code == 204, erased.text

    rightful = await register_citizen(
        identity, **numbers, full_name="Ana Rita Santos", password="the rightful secret"
    )
    assert rightful["citizen_id"] != impostor["citizen_id"]
    me = await identity.get("/citizens/me", headers=rightful["auth"])
    assert me.status_code == 200 and me.json()["full_name"] == "Ana Rita Santos", me.text
    old = await identity.post(
        "/auth/token",
        json={"username": numbers["sns_number"], "password": impostor["body"]["password"]},
    )
    assert old.status_code == 401, old.text

    async def record_opened() -> bool:
        answer = await records.get(f"/records/{rightful['citizen_id']}", headers=rightful["auth"])
        return answer.status_code == 200

    await eventually(record_opened, timeout=30)
    twice = await identity.post("/citizens", json={**rightful["body"], "password": "x" * 16})
    assert twice.status_code == 409, twice.text  # the numbers are hers now
