"""notifications on the real servers: sealed events in, e-mail in Mailpit and SMS out."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rse_notifications.bootstrap import bootstrap
from rse_notifications.config import Settings
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.sealed import load_public_key
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import Envelopes, Kit, asgi_client, eventually, publish, unique
from rse_shared.topics import consumed_by

from ..builders import CODES, codes, contacts

pytestmark = pytest.mark.integration


class SmsReceiver(BaseHTTPRequestHandler):
    """The SMS gateway the tests stand up: keeps every request body."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def sms() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (SmsReceiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/sms", received
    server.shutdown()


async def fresh_topics(infra: ServiceSettings) -> dict[str, str]:
    """A fresh topic standing for each one notifications consumes (its owner in its name)."""
    run = unique("t").replace("_", ".")
    names = {t: f"{run}.{t}" for t in (*consumed_by("notifications"), "notifications.events")}
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 3, 1) for n in names.values()])
    finally:
        await admin.close()
    return names


@pytest.fixture
async def topics(infra: ServiceSettings) -> dict[str, str]:
    return await fresh_topics(infra)


@pytest.fixture
async def notifications(
    kit: Kit, topics: dict[str, str], sms: tuple[str, list[dict[str, Any]]]
) -> AsyncIterator[Service]:
    settings = kit.settings(Settings, sms_gateway_url=sms[0], dispatch_interval=0.2)
    consumes = [topics[t] for t in consumed_by("notifications")]
    service = bootstrap(
        settings,
        topic=topics["notifications.events"],
        consumes=consumes,
        verifier=kit.mint.verifier(),
    )
    await service.workers.start()
    try:
        yield service
    finally:
        await service.close()


def mailpit_api() -> str:
    return os.environ.get("RSE_MAILPIT_API", "http://127.0.0.1:18025")


async def mails_to(address: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=mailpit_api()) as http:
        found = (await http.get("/api/v1/search", params={"query": f"to:{address}"})).json()
        return [(await http.get(f"/api/v1/message/{m['ID']}")).json() for m in found["messages"]]


async def test_a_prescription_lands_in_mailpit_and_at_the_sms_gateway_once(
    infra: ServiceSettings,
    kit: Kit,
    topics: dict[str, str],
    notifications: Service,
    sms: tuple[str, list[dict[str, Any]]],
) -> None:
    assert notifications.settings.secrets_dir is not None
    key = load_public_key(notifications.settings.secrets_dir / "notifications_seal.pub")
    envelopes, citizen = Envelopes(), uuid.uuid4()
    email = f"{uuid.uuid4().hex[:10]}@example.pt"
    await publish(
        infra.kafka_bootstrap,
        topics["identity.contacts"],
        contacts(key, envelopes, citizen, email=email, phone="+351912345678"),
    )
    prescription = codes(key, envelopes, citizen)
    await publish(infra.kafka_bootstrap, topics["records.prescription-codes"], prescription)

    (mail,) = await eventually(lambda: mails_to(email), timeout=60)
    for code in CODES.values():
        assert code in mail["Text"]
    _, received = sms
    await eventually(lambda: asyncio.sleep(0, result=received), timeout=30)
    assert received[0]["to"] == "+351912345678"
    assert CODES["access_code"] in received[0]["text"]

    # The relay publishes it again (a re-publication after a crash): nothing is sent twice.
    await publish(infra.kafka_bootstrap, topics["records.prescription-codes"], prescription)
    await asyncio.sleep(3)
    assert len(await mails_to(email)) == 1
    assert len(received) == 1

    async with asgi_client(notifications) as http:
        response = await http.get(
            f"/citizens/{citizen}/notifications", headers=kit.mint.citizen(citizen)
        )
        assert response.status_code == 200
        (listed,) = response.json()
        assert {c: o["status"] for c, o in listed["channels"].items()} == {
            "email": "sent",
            "sms": "sent",
        }
        assert CODES["access_code"] not in response.text
        other = await http.get(
            f"/citizens/{citizen}/notifications", headers=kit.mint.citizen(uuid.uuid4())
        )
        assert other.status_code == 403
