"""No personal or clinical value in clear where an attacker with the bytes would look.

A citizen whose values are found nowhere else (name, NIF, SNS number, contacts, address,
allergy, condition, medication, vaccine, lot, care-plan goal) goes through every service:
registration and counter activation, a family doctor, a health summary, a vaccination, a
care plan, a renewal that becomes an e-prescription, an exemption request; and an
attacker's altered copy of one of records' events lands in requests' dead-letter topic.
Then the run is read as someone who got hold of the bytes would read it: every topic of the
run (events, channels, dead letters) and the audit topics from offset 0 with the plain
Kafka client, every table of every service database, every read-model document. Protected
values travel and rest only under the citizen's key; the read models, which serve the
citizen their own clinical values, hold no secret (TOTP secrets, prescription codes,
activation codes, password hashes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql
from pymongo import AsyncMongoClient

from rse_shared.contracts import UnknownEventType, contract_for
from rse_shared.eventstore import in_thread
from rse_shared.idempotent_consumer import dlq_topic
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.protection import FIELD
from rse_shared.settings import ServiceSettings
from rse_shared.testing import counter_for, eventually, login, read_topic
from rse_shared.testing.logins import AUTHENTICATORS
from rse_shared.topics import CHECKPOINTS_TOPIC, KEYS_TOPIC
from tests.e2e.conftest import Platform, build_platform
from tests.e2e.flows import assign_family_doctor, nif_for

pytestmark = pytest.mark.integration

SERVICES = ("identity", "consent", "records", "requests", "benefits")


@dataclass
class Run:
    """The platform of the scan, what the citizen is, and the secrets the run made."""

    platform: Platform
    citizen_id: str
    personal: dict[str, str]
    """What must never be readable in clear on a topic or in a store, by what it is."""
    secrets: dict[str, str] = field(default_factory=dict)
    """What must never be in clear in a read model, by what it is."""

    @property
    def run(self) -> str:
        return self.platform.topics["identity"].split(".", 1)[0]


def distinctive(seed: int) -> dict[str, str]:
    tag = f"{seed:08d}"
    word = "".join(chr(ord("k") + int(d)) for d in tag)  # names and entries take no digits
    return {
        "full_name": f"Quilhermina Zarvesk Oblonto{word}",
        "nif": nif_for(seed),
        "sns_number": f"3{tag}",
        "email": f"quilhermina.zarvesk{word}@example.pt",
        "phone": f"+3519{tag}",
        "address": f"Rua Xyloquarta {word}, Braga",
        "allergy": f"Alergia-Zorbitrax{word}",
        "condition": f"Doenca-Quelvinar{word}",
        "medication": f"Farmaco-Vostrelina{word}",
        "dosage": f"850 mg Dosagem-Pirluma{word}",
        "vaccine": f"Vacina-Brontesca{word}",
        "lot": f"LOT-XQ{tag}",
        "goal": f"Objetivo-Talvorine{word}",
    }


async def registered(platform: Platform, values: dict[str, str], run: Run) -> dict[str, str]:
    """The citizen registered and activated at the counter (its code kept), logged in."""
    identity, counter = platform["identity"], counter_for(platform["identity"])
    body = {
        **{k: values[k] for k in ("full_name", "nif", "sns_number", "email", "phone", "address")},
        "date_of_birth": "1979-11-23",
        "password": "a long enough secret",
    }
    created = await identity.post("/citizens", json=body)
    assert created.status_code == 201, created.text
    run.citizen_id = str(created.json()["citizen_id"])
    code = run.secrets["activation code"] = await counter.issue_code(run.citizen_id)
    activated = await identity.post(
        "/citizens/activate", json={"sns_number": body["sns_number"], "code": code}
    )
    assert activated.status_code == 204, activated.text
    token = await login(identity, body["sns_number"], body["password"])
    return {"Authorization": f"Bearer {token}"}


async def written(platform: Platform, doctor: dict[str, str], path: str, body: Any) -> Any:
    """An entry the family doctor writes once records knows them as such."""
    records = platform["records"]

    async def accepted() -> Any:
        response = await records.post(path, headers=doctor, json=body)
        return (response.json() if response.content else True) if response.is_success else None

    return await eventually(accepted, timeout=30)


async def record_entries(run: Run, doctor: dict[str, str]) -> str:
    """The summary, a vaccination and a care plan; the chronic medication's id."""
    base, values, platform = f"/records/{run.citizen_id}", run.personal, run.platform
    await written(
        platform, doctor, f"{base}/health-summary/allergies", {"allergy": values["allergy"]}
    )
    await written(
        platform,
        doctor,
        f"{base}/health-summary/chronic-conditions",
        {"condition": values["condition"]},
    )
    medication = await written(
        platform,
        doctor,
        f"{base}/health-summary/medications",
        {"name": values["medication"], "dosage": values["dosage"]},
    )
    vaccination = {
        "vaccine": values["vaccine"],
        "dose_number": 1,
        "administered_on": str(date.today()),
        "lot": values["lot"],
    }
    await written(platform, doctor, f"{base}/vaccinations", vaccination)
    plan = {"goals": [values["goal"]], "responsible_professional": "Dr. Tejo"}
    planned = await platform["records"].put(f"{base}/care-plan", headers=doctor, json=plan)
    assert planned.status_code == 204, planned.text
    return str(medication["medication_id"])


async def prescribed(
    run: Run, auth: dict[str, str], doctor: dict[str, str], pid: str, medication_id: str
) -> None:
    """A renewal the family doctor approves becomes an e-prescription; its codes kept."""
    requests, cid = run.platform["requests"], run.citizen_id

    async def requested() -> Any:
        response = await requests.post(
            f"/citizens/{cid}/renewals", headers=auth, json={"medication_ids": [medication_id]}
        )
        return response.json() if response.status_code == 201 else None

    renewal = await eventually(requested, timeout=30)
    approved = await requests.post(
        f"/practitioners/{pid}/renewals/{renewal['request_id']}/decision",
        headers=doctor,
        json={
            "decision": "approved",
            "valid_until": str(date.today() + timedelta(days=90)),
            "items": [{"medication_id": medication_id, "packs": 2}],
        },
    )
    assert approved.status_code == 200, approved.text

    async def issued() -> Any:
        record = (await run.platform["records"].get(f"/records/{cid}", headers=auth)).json()
        return record["prescriptions"] or None

    [prescription] = await eventually(issued, timeout=40)
    run.secrets["prescription access code"] = prescription["codes"]["access_code"]
    run.secrets["prescription choice code"] = prescription["codes"]["choice_code"]


async def exemption_requested(run: Run, auth: dict[str, str]) -> None:
    async def requested() -> bool:
        response = await run.platform["benefits"].post(
            f"/citizens/{run.citizen_id}/exemptions", json={"category": "pregnancy"}, headers=auth
        )
        return response.status_code == 201

    await eventually(requested, timeout=30)


async def forged_into_a_dead_letter(run: Run) -> None:
    """An altered copy of records' health summary, written with the admin principal: requests
    refuses it into its dead-letter topic, as published (protected part and all)."""
    platform = run.platform
    topic, bootstrap = platform.topics["records"], platform.services["records"].settings
    found = await read_topic(bootstrap.kafka_bootstrap, topic)
    [original] = [r for r in found if json.loads(r.value)["event_type"] == "HealthSummaryUpdated"][
        -1:
    ]
    altered = {**json.loads(original.value), "chain_prev": "f" * 64}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap.kafka_bootstrap, **tool_options(ADMIN))
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            json.dumps(altered).encode(),
            key=original.key,
            partition=original.partition,
            headers=list(original.headers),
        )
    finally:
        await producer.stop()
    dead = dlq_topic(f"{run.run}.requests", topic)

    async def dead_lettered() -> bool:
        return bool(await read_topic(bootstrap.kafka_bootstrap, dead, timeout=3))

    await eventually(dead_lettered, timeout=40)


@pytest.fixture(scope="module")
async def scanned(infra: ServiceSettings) -> AsyncIterator[Run]:
    """The platform after the citizen's whole journey, ready to be scanned."""
    async with build_platform(infra, "scan", postgres_pool_size=2) as platform:
        values = distinctive(uuid.uuid4().int % 10**8)
        run = Run(platform, "", values)
        auth = await registered(platform, values, run)
        pid, doctor = await assign_family_doctor(platform, run.citizen_id)
        medication_id = await record_entries(run, doctor)
        await prescribed(run, auth, doctor, pid, medication_id)
        await exemption_requested(run, auth)
        await forged_into_a_dead_letter(run)
        for username, authenticator in AUTHENTICATORS.get(platform["identity"], {}).items():
            run.secrets[f"TOTP secret of {username}"] = authenticator.totp.secret
        yield run


# --- what an attacker with the bytes reads


async def topics_of(run: Run) -> list[str]:
    """Every topic of the run (events, channels, dead letters), and the audit topics."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=run.platform.services["identity"].settings.kafka_bootstrap,
        **tool_options(ADMIN),
    )
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    return [*sorted(n for n in names if n.startswith(f"{run.run}.")), CHECKPOINTS_TOPIC, KEYS_TOPIC]


def found_in(blob: bytes, values: dict[str, str]) -> list[str]:
    return [what for what, value in values.items() if value.encode() in blob]


async def messages_of(run: Run) -> dict[str, list[Any]]:
    bootstrap = run.platform.services["identity"].settings.kafka_bootstrap
    return {t: await read_topic(bootstrap, t, timeout=30) for t in await topics_of(run)}


def in_clear_on(messages: dict[str, list[Any]], values: dict[str, str]) -> list[str]:
    """`<what> in the <part> of <topic>[partition]@offset` for every value read in clear."""
    found = []
    for topic, records in messages.items():
        for r in records:
            parts = {"value": r.value or b"", "key": r.key or b""}
            parts.update({f"header {k}": v or b"" for k, v in r.headers})
            for part, blob in parts.items():
                where = f"the {part} of {topic}[{r.partition}]@{r.offset}"
                found += [f"{what} in {where}" for what in found_in(blob, values)]
    return found


async def test_every_topic_of_the_run_holds_no_personal_or_clinical_value_in_clear(
    scanned: Run,
) -> None:
    messages = await messages_of(scanned)
    dead_letters = [t for t in messages if t.endswith(".dlq")]
    assert dead_letters and all(messages[t] for t in dead_letters)  # the DLQ was scanned
    assert sum(map(len, messages.values())) > 20
    found = in_clear_on(messages, scanned.personal)
    print(
        f"scanned {sum(map(len, messages.values()))} records of {len(messages)} topics "
        f"({len(dead_letters)} dead-letter) for {len(scanned.personal)} values: {len(found)} found"
    )
    assert found == []


def unprotected(document: dict[str, Any]) -> list[str]:
    """The protected fields of the document's contract that are in it, in clear."""
    try:
        cls = contract_for(str(document["event_type"]), int(document.get("schema_version", 1)))
    except (UnknownEventType, KeyError, ValueError):
        return []
    return [f for f in cls.protected_fields if f in document]


async def test_no_event_of_the_run_carries_a_protected_field_outside_its_protected_part(
    scanned: Run,
) -> None:
    messages = await messages_of(scanned)
    events = {t: r for t, r in messages.items() if t.endswith(".events")}
    documents = [(t, r.offset, json.loads(r.value)) for t, rs in events.items() for r in rs]
    in_clear = [
        f"{d['event_type']} at {t}@{o}: {unprotected(d)}" for t, o, d in documents if unprotected(d)
    ]
    assert in_clear == []
    kinds = {d["event_type"] for _, _, d in documents if FIELD in d}
    assert {"CitizenRegistered", "HealthSummaryUpdated", "ExemptionRequested"} <= kinds


def rows_of(conninfo: str) -> Iterator[tuple[str, list[Any]]]:
    """Every row of every table of a database, as (table, column values)."""
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            every = sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            for row in conn.execute(every):
                yield f"{schema}.{table}", list(row)


def as_bytes(value: Any) -> bytes:
    """A column's value as stored: its raw bytes for bytea, its text otherwise."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def in_clear_in_database(conninfo: str, values: dict[str, str]) -> tuple[int, list[str]]:
    count, found = 0, []
    for table, row in rows_of(conninfo):
        count += 1
        blob = b"\x00".join(map(as_bytes, row))
        found += [f"{what} in a row of {table}" for what in found_in(blob, values)]
    return count, found


async def test_no_table_of_any_service_database_holds_a_value_in_clear(scanned: Run) -> None:
    found, rows = [], 0
    for name in SERVICES:
        conninfo = scanned.platform.services[name].settings.postgres_conninfo()
        count, named = await in_thread(in_clear_in_database, conninfo, scanned.personal)
        rows += count
        found += [f"{n} of database {name}" for n in named]
    assert rows > 50  # the event stores, notification logs, tracking, inboxes were read
    print(f"scanned {rows} rows of {len(SERVICES)} service databases: {len(found)} found")
    assert found == []


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def secrets_in(document: dict[str, Any], secrets: dict[str, str]) -> list[str]:
    """The secrets a document holds: a field equal to a short one, or holding a long one; and
    any password hash."""
    found = []
    for path, leaf in leaves(document):
        if not isinstance(leaf, str):
            continue
        found += [
            f"{what} at {path}"
            for what, secret in secrets.items()
            if leaf == secret or (len(secret) >= 12 and secret in leaf)
        ]
        if leaf.startswith("$argon2"):
            found.append(f"a password hash at {path}")
    return found


async def test_no_read_model_holds_a_secret_in_clear(scanned: Run) -> None:
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(
        scanned.platform.services["identity"].settings.mongo_url
    )
    found, documents = [], 0
    try:
        for name in SERVICES:
            db = mongo[scanned.platform.services[name].settings.mongo_db]
            for collection in await db.list_collection_names():
                async for document in db[collection].find():
                    documents += 1
                    where = f"{name}.{collection} {document.get('_id')}"
                    found += [f"{s} in {where}" for s in secrets_in(document, scanned.secrets)]
    finally:
        await mongo.close()
    assert documents > 10 and len(scanned.secrets) >= 5
    print(f"scanned {documents} read-model documents for {len(scanned.secrets)} secrets")
    assert found == []


async def test_the_citizen_still_reads_their_own_values_through_the_api(scanned: Run) -> None:
    """The values were protected, not lost: every consumer revealed what it needed."""
    platform, cid = scanned.platform, scanned.citizen_id
    token = await login(
        platform["identity"], scanned.personal["sns_number"], "a long enough secret"
    )
    auth = {"Authorization": f"Bearer {token}"}
    record = (await platform["records"].get(f"/records/{cid}", headers=auth)).json()
    text = json.dumps(record)
    assert scanned.personal["allergy"] in text and scanned.personal["goal"] in text
    renewals = (await platform["requests"].get(f"/citizens/{cid}/renewals", headers=auth)).json()
    assert scanned.personal["medication"] in json.dumps(renewals)
