"""A poison message: one that can never be applied.

Invariant: it is tried N times (RSE_CONSUMER_MAX_ATTEMPTS) and then dead-lettered to
`<group>.<topic>.dlq` with its error, the messages after it on the same partition are
still applied, and the operator sees the dead letters in `make status`.
Here the records service runs as operators run it (`rse-records serve`).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from rse_records.application import RecordsApplication
from rse_records.domain.care_relationship import Writer
from rse_shared.contracts import MedicationRenewalDecided
from rse_shared.contracts.requests import RenewedItem
from rse_shared.eventstore import in_thread
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.relay import ensure_topics
from rse_shared.testing import REPO, a_family_doctor, a_registration, eventually, publish
from rse_shared.topics import dlq_topic

from .conftest import FaultServers
from .support import POISON_PREFIX, ServiceProcess, topic_documents

pytestmark = pytest.mark.integration

ATTEMPTS = 3
UNIT = "USF Poison"
DOCTOR = Writer("P-poison", "professional", UNIT)
IDENTITY, REQUESTS = f"{POISON_PREFIX}identity.events", f"{POISON_PREFIX}requests.events"


def renewal_approved(
    citizen: uuid.UUID,
    medication_id: str = "m-1",
) -> MedicationRenewalDecided:
    return MedicationRenewalDecided(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        producer="requests",
        citizen_id=citizen,
        source_position=1,
        request_id=uuid.uuid4(),
        decision="approved",
        items=(
            RenewedItem(medication_id=medication_id, name="Metformina", dosage="500 mg", packs=2),
        ),
        valid_until=None,
        reason=None,
        practitioner_id="P-poison",
    )


async def test_a_poison_message_is_dead_lettered_and_its_partition_keeps_flowing(
    servers: FaultServers, tmp_path: Path
) -> None:
    settings = servers.settings().model_copy(
        update={"postgres_db": "rse_records", "mongo_db": "rse_records"}
    )
    bootstrap = settings.kafka_bootstrap
    records = ServiceProcess(
        "records",
        {
            **servers.service_env(),
            "RSE_TOPIC_PREFIX": POISON_PREFIX,
            "RSE_CONSUMER_MAX_ATTEMPTS": str(ATTEMPTS),
        },
        tmp_path,
    )
    # The topics exist before records subscribes, as their producers' relays create them.
    await ensure_topics(
        bootstrap,
        [IDENTITY, f"{POISON_PREFIX}consent.events", REQUESTS],
        options=tool_options(ADMIN),
    )
    await records.start()
    try:
        citizen = uuid.uuid4()
        await publish(bootstrap, IDENTITY, a_registration(citizen))
        # The medication is written by the citizen's family doctor, as records requires.
        await publish(bootstrap, IDENTITY, a_family_doctor(citizen, DOCTOR.actor_id, UNIT))
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url)

        async def opened() -> Any:
            return await mongo[settings.mongo_db].records.find_one({"_id": str(citizen)})

        await eventually(opened)
        await mongo.close()

        app = RecordsApplication(env=settings.eventstore_env())
        try:

            async def knows_the_doctor() -> bool:
                team = await in_thread(app.care_team, citizen)
                return team is not None and team.family_doctor == DOCTOR.actor_id

            await eventually(knows_the_doctor)
            medication = await in_thread(
                app.add_medication, citizen, "Metformina", "500 mg", DOCTOR
            )
            # On one partition: a renewal for a citizen without a record (it fails every
            # time), bytes that are not JSON, then a good renewal for the registered citizen.
            partition = 0
            poison = renewal_approved(uuid.uuid4(), medication)
            await publish(bootstrap, REQUESTS, poison, partition=partition)
            await produce_raw(bootstrap, REQUESTS, partition, b"\xff not json")
            await publish(
                bootstrap, REQUESTS, renewal_approved(citizen, medication), partition=partition
            )

            def prescribed() -> bool:
                return len(app.record(citizen).prescriptions) == 1

            await eventually(lambda: in_thread(prescribed), timeout=60)
        finally:
            app.close()

        letters = await eventually(lambda: dead_letters(bootstrap, 2), timeout=30)
    finally:
        records.stop()

    by_error = {letter["attempts"]: letter for letter in letters}
    assert set(by_error) == {ATTEMPTS, 1}
    failing, unreadable = by_error[ATTEMPTS], by_error[1]
    assert json.loads(failing["value"])["event_id"] == str(poison.event_id)
    assert "no health record" in failing["error"]
    assert failing["partition"] == partition and failing["topic"] == REQUESTS
    assert unreadable["error"].startswith("not JSON")

    status = await asyncio.to_thread(
        subprocess.run,
        ["make", "-s", "status"],
        cwd=REPO,
        env=servers.service_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = status.stdout.splitlines()
    header = next(re.split(r"\s{2,}", ln.strip()) for ln in lines if "DLQ" in ln.split())
    row = next(re.split(r"\s{2,}", ln.strip()) for ln in lines if ln.startswith("records "))
    assert row[header.index("DLQ")] == "2", status.stdout


async def dead_letters(bootstrap: str, count: int) -> list[dict[str, Any]] | None:
    try:
        found = await topic_documents(bootstrap, dlq_topic("records", REQUESTS))
    except LookupError:
        return None  # no dead letter yet
    return found if len(found) >= count else None


async def produce_raw(bootstrap: str, topic: str, partition: int, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **tool_options(ADMIN))
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()
