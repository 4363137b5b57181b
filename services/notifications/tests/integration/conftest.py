"""notifications on the real servers: fresh topics, an SMS receiver, Mailpit, the service."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pymongo import AsyncMongoClient

from rse_notifications.bootstrap import bootstrap
from rse_notifications.config import Settings
from rse_shared.eventstore import in_thread
from rse_shared.kafka import ADMIN, tool_options
from rse_shared.sealed import load_public_key
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import Envelopes, Kit, asgi_client, eventually, publish, unique
from rse_shared.testing.kafka import created_topics
from rse_shared.topics import channel_topic, consumed_by, events_topic

from ..builders import contacts


@dataclass
class SmsGatewayStub:
    """The SMS gateway the tests stand up: keeps every request body, refuses some numbers."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)


def _handler(gateway: SmsGatewayStub) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            body = json.loads(self.rfile.read(length))
            refused = body.get("to") in gateway.refused
            if not refused:
                gateway.received.append(body)
            # A provider's answer to a number it cannot deliver to: a client error.
            self.send_response(400 if refused else 202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    return Receiver


@pytest.fixture
def sms() -> Iterator[SmsGatewayStub]:
    gateway = SmsGatewayStub(url="")
    server = HTTPServer(("127.0.0.1", 0), _handler(gateway))
    gateway.url = f"http://127.0.0.1:{server.server_port}/sms"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield gateway
    server.shutdown()


TOPICS = (
    *consumed_by("notifications"),
    events_topic("notifications"),
    # records' events: the professional reads that consent turns into access alerts.
    events_topic("records"),
)


async def fresh_topics(infra: ServiceSettings) -> dict[str, str]:
    """A fresh topic standing for each one of the run (`<run>.<topology name>`)."""
    run = unique("t").replace("_", ".")
    names = {t: f"{run}.{t}" for t in TOPICS}
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **tool_options(ADMIN))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 3, 1) for n in names.values()])
    finally:
        await admin.close()
    created_topics.update(names.values())
    return names


@pytest.fixture
async def topics(infra: ServiceSettings) -> dict[str, str]:
    return await fresh_topics(infra)


@contextlib.asynccontextmanager
async def serving(
    kit: Kit, topics: dict[str, str], sms: SmsGatewayStub, **overrides: Any
) -> AsyncIterator[Service]:
    """notifications on the run's topics, sending to the SMS stub and (by default) Mailpit."""
    settings = kit.settings(
        Settings, **{"sms_gateway_url": sms.url, "dispatch_interval": 0.2, **overrides}
    )
    service = bootstrap(
        settings,
        topic=topics[events_topic("notifications")],
        consumes=[topics[t] for t in consumed_by("notifications")],
        verifier=kit.mint.verifier(),
    )
    await service.workers.start()
    try:
        yield service
    finally:
        await service.close()


@pytest.fixture
async def notifications(
    kit: Kit, topics: dict[str, str], sms: SmsGatewayStub
) -> AsyncIterator[Service]:
    async with serving(kit, topics, sms) as service:
        yield service


def seal_key(service: Service) -> X25519PublicKey:
    assert service.settings.secrets_dir is not None
    return load_public_key(service.settings.secrets_dir / "notifications_seal.pub")


async def reachable_at(
    infra: ServiceSettings,
    topics: dict[str, str],
    service: Service,
    citizen: uuid.UUID,
    **values: str,
) -> None:
    """identity's sealed contacts of `citizen`, on its channel, as identity would publish;
    once notifications holds them (the channels are separate topics: no order between them)."""
    await publish(
        infra.kafka_bootstrap,
        topics[channel_topic("identity", "contacts")],
        contacts(seal_key(service), Envelopes(), citizen, **values),
    )

    async def known() -> bool:
        recipient = await in_thread(service.app.recipient, citizen)
        return bool(recipient.contacts)

    await eventually(known)


def an_address() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.pt"


def mailpit_api() -> str:
    return os.environ.get("RSE_MAILPIT_API", "http://127.0.0.1:18025")


async def mails_to(address: str, api: str | None = None) -> list[dict[str, Any]]:
    """Every message Mailpit holds for `address`, in full (read through its API)."""
    async with httpx.AsyncClient(base_url=api or mailpit_api()) as http:
        found = (await http.get("/api/v1/search", params={"query": f"to:{address}"})).json()
        return [(await http.get(f"/api/v1/message/{m['ID']}")).json() for m in found["messages"]]


async def listed(service: Service, kit: Kit, citizen: uuid.UUID) -> list[dict[str, Any]]:
    """GET /citizens/{id}/notifications as the citizen."""
    async with asgi_client(service) as http:
        response = await http.get(
            f"/citizens/{citizen}/notifications", headers=kit.mint.citizen(citizen)
        )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


@pytest.fixture
async def databases(infra: ServiceSettings) -> AsyncIterator[list[str]]:
    """Names for the other services' databases (PostgreSQL and MongoDB), dropped after."""
    names: list[str] = []
    yield names
    admin = infra.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongo_url)
    for name in names:
        await mongo.drop_database(name)
    await mongo.close()


def new_database(infra: ServiceSettings, names: list[str]) -> str:
    """A fresh PostgreSQL database (its MongoDB namesake is made on first write)."""
    name = unique("rse_t")
    admin = infra.model_copy(update={"postgres_db": "postgres"}).postgres_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    names.append(name)
    return name
