"""notifications on the real servers: sealed events in, e-mail in Mailpit and SMS out."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import Envelopes, Kit, asgi_client, eventually, publish
from rse_shared.topics import channel_topic

from ..builders import CODES, codes
from .conftest import SmsGatewayStub, an_address, mails_to, reachable_at, seal_key

pytestmark = pytest.mark.integration


async def test_a_prescription_lands_in_mailpit_and_at_the_sms_gateway_once(
    infra: ServiceSettings,
    kit: Kit,
    topics: dict[str, str],
    notifications: Service,
    sms: SmsGatewayStub,
) -> None:
    citizen, email = uuid.uuid4(), an_address()
    await reachable_at(infra, topics, notifications, citizen, email=email, phone="+351912345678")
    prescription = codes(seal_key(notifications), Envelopes(), citizen)
    await publish(
        infra.kafka_bootstrap, topics[channel_topic("records", "prescription-codes")], prescription
    )

    (mail,) = await eventually(lambda: mails_to(email), timeout=60)
    for code in CODES.values():
        assert code in mail["Text"]
    received = sms.received
    await eventually(lambda: asyncio.sleep(0, result=received), timeout=30)
    assert received[0]["to"] == "+351912345678"
    assert CODES["access_code"] in received[0]["text"]

    # The relay publishes it again (a re-publication after a crash): nothing is sent twice.
    await publish(
        infra.kafka_bootstrap, topics[channel_topic("records", "prescription-codes")], prescription
    )
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
