"""Delivery when things go wrong: an SMTP server away for 30 s, addresses that cannot work."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rse_shared.settings import ServiceSettings
from rse_shared.testing import REPO, Envelopes, Kit, eventually, publish
from rse_shared.topics import channel_topic

from ..builders import CODES, codes
from .conftest import SmsGatewayStub, an_address, listed, mails_to, reachable_at, seal_key, serving

pytestmark = pytest.mark.integration
SMTP_DOWN = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class OwnMailpit:
    """A second Mailpit, the test's own (the shared one is never stopped): deploy/local's
    script on other ports and another home."""

    smtp_port: int
    http_port: int
    home: Path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def run(self, command: str) -> None:
        env = {
            **os.environ,
            "RSE_LOCAL_MAILPIT_SMTP_PORT": str(self.smtp_port),
            "RSE_LOCAL_MAILPIT_HTTP_PORT": str(self.http_port),
            "RSE_MAILPIT_HOME": str(self.home),
        }
        script = REPO / "deploy" / "local" / "mailpit.sh"
        subprocess.run(["bash", str(script), command], check=True, env=env, capture_output=True)


@pytest.fixture
def own_mailpit(tmp_path: Path) -> Iterator[OwnMailpit]:
    mailpit = OwnMailpit(free_port(), free_port(), tmp_path / "mailpit")
    mailpit.run("start")
    try:
        yield mailpit
    finally:
        mailpit.run("stop")


async def test_an_email_is_delivered_once_the_smtp_server_returns_after_30_seconds(
    infra: ServiceSettings,
    kit: Kit,
    topics: dict[str, str],
    sms: SmsGatewayStub,
    own_mailpit: OwnMailpit,
) -> None:
    citizen, email = uuid.uuid4(), an_address()
    retries = {"delivery_first_retry": 1.0, "delivery_last_retry": 4.0}
    async with serving(
        kit, topics, sms, smtp_port=own_mailpit.smtp_port, delivery_max_attempts=30, **retries
    ) as notifications:
        own_mailpit.run("stop")
        await reachable_at(infra, topics, notifications, citizen, email=email, phone="+3519100001")
        prescription = codes(seal_key(notifications), Envelopes(), citizen)
        await publish(
            infra.kafka_bootstrap,
            topics[channel_topic("records", "prescription-codes")],
            prescription,
        )
        await asyncio.sleep(SMTP_DOWN)
        (waiting,) = await listed(notifications, kit, citizen)
        assert waiting["channels"]["email"]["status"] == "pending", waiting["channels"]

        own_mailpit.run("start")
        (mail,) = await eventually(lambda: mails_to(email, own_mailpit.api), timeout=30)

        async def recorded() -> dict[str, object] | None:
            (item,) = await listed(notifications, kit, citizen)
            outcome: dict[str, object] = item["channels"]["email"]
            return outcome if outcome["status"] == "sent" else None

        outcome = await eventually(recorded)
    assert CODES["access_code"] in mail["Text"]
    assert isinstance(outcome["attempts"], int) and outcome["attempts"] > 1
    assert len(await mails_to(email, own_mailpit.api)) == 1


async def test_an_undeliverable_address_and_a_refused_number_end_as_failed_with_reasons(
    infra: ServiceSettings,
    kit: Kit,
    topics: dict[str, str],
    sms: SmsGatewayStub,
) -> None:
    citizen, phone = uuid.uuid4(), "+351919999999"
    sms.refused.add(phone)
    async with serving(kit, topics, sms) as notifications:
        await reachable_at(
            infra, topics, notifications, citizen, email="ana@semdominio", phone=phone
        )
        prescription = codes(seal_key(notifications), Envelopes(), citizen)
        await publish(
            infra.kafka_bootstrap,
            topics[channel_topic("records", "prescription-codes")],
            prescription,
        )

        async def settled() -> dict[str, dict[str, object]] | None:
            found = await listed(notifications, kit, citizen)
            channels = found[0]["channels"] if found else {}
            done = channels and all(c["status"] != "pending" for c in channels.values())
            return channels if done else None

        channels = await eventually(settled, timeout=60)
    assert channels["email"]["status"] == "failed"
    assert channels["email"]["reason"] == "invalid e-mail address"
    assert channels["sms"]["status"] == "failed"
    assert channels["sms"]["reason"] == "SMS gateway refused the number (400)"
    # Recorded, not retried: one attempt each, and the gateway was asked once.
    assert channels["email"]["attempts"] == channels["sms"]["attempts"] == 1
    assert sms.received == []
