"""An access alert end to end: records' read -> consent's AccessAlertRaised -> an e-mail."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from rse_consent.bootstrap import bootstrap as consent_bootstrap
from rse_consent.config import Settings as ConsentSettings
from rse_records.bootstrap import bootstrap as records_bootstrap
from rse_records.config import Settings as RecordsSettings
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import Kit, asgi_client, eventually, running
from rse_shared.topics import consumed_by, events_topic

from .conftest import an_address, listed, mails_to, new_database, reachable_at

pytestmark = pytest.mark.integration


def settings_of(kit: Kit, cls: type[Any], database: str) -> Any:
    """Another service's test settings: a database, read models and group of its own."""
    return kit.settings(cls, postgres_db=database, mongo_db=database, consumer_group=database)


@contextlib.asynccontextmanager
async def records_and_consent(
    kit: Kit, topics: dict[str, str], databases: list[str]
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """records and consent on the run's topics, as the platform wires them; their clients."""
    records = records_bootstrap(
        settings_of(kit, RecordsSettings, new_database(kit.infra, databases)),
        topic=topics[events_topic("records")],
        consumes=[topics[t] for t in consumed_by("records")],
        verifier=kit.mint.verifier(),
    )
    consent = consent_bootstrap(
        settings_of(kit, ConsentSettings, new_database(kit.infra, databases)),
        topic=topics[events_topic("consent")],
        consumes=[topics[t] for t in consumed_by("consent")],
        verifier=kit.mint.verifier(),
    )
    async with (
        running(records),
        running(consent),
        asgi_client(records) as r,
        asgi_client(consent) as c,
    ):
        yield r, c


async def opt_in(consent: httpx.AsyncClient, headers: dict[str, str], citizen: uuid.UUID) -> None:
    """The citizen asks consent to alert them of every access, as consent's own tests do."""
    path = f"/citizens/{citizen}/alert-settings"
    chosen = await consent.put(path, json={"access_alerts": True}, headers=headers)
    assert chosen.status_code == 200, chosen.text

    async def opted_in() -> bool:
        return bool((await consent.get(path, headers=headers)).json()["access_alerts"])

    await eventually(opted_in)


async def test_a_professionals_read_reaches_the_opted_in_citizen_by_email(
    infra: ServiceSettings,
    kit: Kit,
    topics: dict[str, str],
    notifications: Service,
    databases: list[str],
) -> None:
    citizen, email = uuid.uuid4(), an_address()
    await reachable_at(infra, topics, notifications, citizen, email=email, phone="+351912000001")
    async with records_and_consent(kit, topics, databases) as (records, consent):
        await opt_in(consent, kit.mint.citizen(citizen), citizen)
        doctor = kit.mint.professional("P-77", "USF Tejo")
        read = await records.get(f"/records/{citizen}/vaccinations", headers=doctor)
        assert read.status_code == 403  # no consent: refused, and still alerted

        (mail,) = await eventually(lambda: mails_to(email), timeout=60)

    assert mail["Subject"] == "SNS: acesso ao seu registo de saúde"
    assert "P-77 (USF Tejo)" in mail["Text"] and "vacinas" in mail["Text"]
    (alert,) = await listed(notifications, kit, citizen)
    assert alert["kind"] == "access_alert"
    assert alert["channels"]["email"]["status"] == "sent"
    assert "sms" not in alert["channels"]  # an access alert goes by e-mail unless chosen
