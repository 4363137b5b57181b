"""A prescription's codes reach the citizen, and nowhere else: on no topic in clear (the
restricted channel carries them sealed), in no log line.

records issues a real prescription; every topic of the run, dead letters included, is read
from offset 0 as the admin (who reads everything) and searched for the codes' strings, and
so is every log record every logger made while it happened.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from rse_records.bootstrap import bootstrap as records_bootstrap
from rse_records.config import Settings as RecordsSettings
from rse_shared.contracts import PrescriptionCodesSealed, parse_event
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.logs import QUIET_LIBRARIES, JsonFormatter
from rse_shared.sealed import load_private_key, open_sealed
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import (
    Kit,
    a_family_doctor,
    a_registration,
    asgi_client,
    eventually,
    publish,
    running,
)
from rse_shared.topics import channel_topic, consumed_by, events_topic

from .conftest import an_address, mails_to, new_database, reachable_at

pytestmark = pytest.mark.integration


@pytest.fixture
async def records(
    kit: Kit, topics: dict[str, str], databases: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    name = new_database(kit.infra, databases)
    settings = kit.settings(RecordsSettings, postgres_db=name, mongo_db=name, consumer_group=name)
    service = records_bootstrap(
        settings,
        topic=topics[events_topic("records")],
        consumes=[topics[t] for t in consumed_by("records")],
        verifier=kit.mint.verifier(),
    )
    async with running(service), asgi_client(service) as http:
        yield http


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Any:
    """Every record at DEBUG for our loggers; the libraries at setup_logging's level."""
    caplog.set_level(logging.DEBUG)
    libraries = [logging.getLogger(name) for name in QUIET_LIBRARIES]
    kept = [library.level for library in libraries]
    for library in libraries:
        library.setLevel(logging.WARNING)
    yield caplog
    for library, level in zip(libraries, kept, strict=True):
        library.setLevel(level)


async def prescribe(records: httpx.AsyncClient, kit: Kit, citizen: uuid.UUID) -> dict[str, str]:
    """The family doctor prescribes; the citizen reads the codes from their record."""
    doctor = kit.mint.professional("P-1", "USF Tejo")
    base = f"/records/{citizen}"

    async def added() -> httpx.Response | None:
        # 403 until records has applied the family doctor's assignment.
        answer = await records.post(
            f"{base}/health-summary/medications",
            headers=doctor,
            json={"name": "Metformina", "dosage": "850 mg"},
        )
        return answer if answer.status_code != 403 else None

    medication = await eventually(added)
    assert medication.status_code == 201, medication.text
    item = {"medication_id": medication.json()["medication_id"], "name": "Metformina"}
    prescribed = await records.post(
        f"{base}/prescriptions",
        headers=doctor,
        json={
            "items": [{**item, "dosage": "850 mg", "packs": 2}],
            "valid_until": str(date.today() + timedelta(days=60)),
        },
    )
    assert prescribed.status_code == 201, prescribed.text

    async def codes() -> dict[str, str] | None:
        record = (await records.get(base, headers=kit.mint.citizen(citizen))).json()
        return record["prescriptions"][0]["codes"] if record["prescriptions"] else None

    return await eventually(codes)


async def every_message(bootstrap: str, names: list[str]) -> dict[str, list[Any]]:
    """Every record on the topics `names`, from offset 0 to their ends, per topic."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **tool_options(ADMIN)
    )
    await consumer.start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options(ADMIN))
        await admin.start()
        try:
            described = await admin.describe_topics(names)
        finally:
            await admin.close()
        tps = [
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: dict[str, list[Any]] = {name: [] for name in names}
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                found[tp.topic].extend(batch)
        return found
    finally:
        await consumer.stop()


def wire_text(record: Any) -> str:
    """Everything a reader of the topic sees of a record: key, headers, value."""
    parts = [record.key or b"", *(v for _, v in record.headers or ()), record.value or b""]
    return "\n".join(p.decode("utf-8", "replace") for p in parts)


def record_text(record: logging.LogRecord) -> str:
    """A log record as any handler could see it, and as the services' JSON line."""
    extra = {k: v for k, v in vars(record).items() if k not in logging.makeLogRecord({}).__dict__}
    parts = [record.getMessage(), repr(extra), JsonFormatter("test").format(record)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(repr(record.exc_info[1]))
    return "\n".join(parts)


def carrying(codes: dict[str, str]) -> re.Pattern[str]:
    """A code as a value of its own, not a run of digits inside a longer token."""
    alternatives = "|".join(re.escape(c) for c in codes.values())
    return re.compile(rf"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9A-Za-z])")


async def test_the_codes_travel_only_sealed_on_their_channel_and_are_never_logged(
    infra: ServiceSettings,
    kit: Kit,
    topics: dict[str, str],
    notifications: Service,
    records: httpx.AsyncClient,
    logs: pytest.LogCaptureFixture,
) -> None:
    citizen, email = uuid.uuid4(), an_address()
    await reachable_at(infra, topics, notifications, citizen, email=email, phone="+351912000002")
    identity = topics[events_topic("identity")]
    await publish(infra.kafka_bootstrap, identity, a_registration(citizen))
    # The prescriber is the citizen's family doctor: a care relationship records accepts.
    await publish(infra.kafka_bootstrap, identity, a_family_doctor(citizen, "P-1", "USF Tejo"))

    async def opened() -> bool:
        response = await records.get(f"/records/{citizen}", headers=kit.mint.citizen(citizen))
        return response.status_code == 200

    await eventually(opened)
    codes = await prescribe(records, kit, citizen)
    (mail,) = await eventually(lambda: mails_to(email), timeout=60)
    assert all(code in mail["Text"] for code in codes.values())  # the citizen has them

    run = topics[events_topic("notifications")].removesuffix(events_topic("notifications"))
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        # The run's topics, and its groups' dead-letter topics (`<group>.<run topic>.dlq`).
        names = sorted(t for t in await admin.list_topics() if run in t)
    finally:
        await admin.close()
    assert set(topics.values()) <= set(names)
    messages = await every_message(infra.kafka_bootstrap, names)
    pattern = carrying(codes)
    in_clear = {
        t: len(r) for t, r in messages.items() if any(pattern.search(wire_text(m)) for m in r)
    }
    assert in_clear == {}
    assert messages[topics[events_topic("records")]]  # records did publish the prescription

    # The channel does carry them: sealed, opened by notifications' key alone.
    channel = [
        parse_event(json.loads(m.value))
        for m in messages[topics[channel_topic("records", "prescription-codes")]]
    ]
    (sealed,) = [e for e in channel if isinstance(e, PrescriptionCodesSealed)]
    assert notifications.settings.secrets_dir is not None
    key = load_private_key(notifications.settings.secrets_dir / "notifications_seal.key")
    opened_codes = open_sealed(key, sealed.sealed, sealed.seal_context)
    assert {k: opened_codes[k] for k in codes} == codes

    assert len(logs.records) > 10  # the services did log while all this happened
    logged = sorted({r.name for r in logs.records if pattern.search(record_text(r))})
    assert logged == []
