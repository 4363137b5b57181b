"""The delivery queue's connection, and its figures as `make status` (rse-status) shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from rse_notifications.config import Settings
from rse_notifications.delivery.queue import DeliveryQueue
from rse_shared.settings import ServiceSettings
from rse_shared.status import QueueFigures, delivery_queue
from rse_shared.testing import Kit

pytestmark = pytest.mark.integration


def a_row(due_at: datetime, channel: str = "email") -> dict[str, object]:
    return {
        "notification_id": uuid.uuid4(),
        "citizen_id": uuid.uuid4(),
        "channel": channel,
        "address": "ana@example.pt",
        "due_at": due_at,
    }


async def test_status_shows_what_waits_what_is_retried_what_failed_and_the_oldest_wait(
    kit: Kit,
) -> None:
    settings = kit.settings(Settings)
    queue = DeliveryQueue(settings.postgres_conninfo())
    await queue.create()
    now = datetime.now(UTC)
    late, retried, refused = (a_row(now - timedelta(minutes=m)) for m in (10, 5, 1))
    await queue.enqueue([retried, refused])
    claimed = {c.notification_id: c for c in await queue.claim(now, timedelta(minutes=2))}
    await queue.retry(claimed[retried["notification_id"]], "SMTP server unreachable", now)
    await queue.failed(claimed[refused["notification_id"]], "invalid e-mail address", now)
    await queue.enqueue([late, a_row(now + timedelta(hours=20))])  # a reminder for tomorrow

    figures = await queue.counts()
    assert (figures.pending, figures.retrying, figures.failed) == (2, 1, 1)
    assert figures.oldest_pending_seconds is not None
    assert 10 * 60 - 5 < figures.oldest_pending_seconds < 10 * 60 + 60  # `late`, not tomorrow's
    shown = await delivery_queue(settings)
    assert shown is not None and shown.oldest_pending_seconds is not None
    assert (shown.pending, shown.retrying, shown.failed) == (2, 1, 1)
    assert shown.oldest_pending_seconds >= figures.oldest_pending_seconds


async def backends(conninfo: str) -> int:
    """Connections to the queue's database other than the one asking."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def test_the_queue_keeps_one_connection_and_opens_another_after_it_broke(kit: Kit) -> None:
    conninfo = kit.settings(Settings).postgres_conninfo()
    queue = DeliveryQueue(conninfo)
    await queue.create()
    now = datetime.now(UTC)
    rows = [a_row(now - timedelta(seconds=1)) for _ in range(10)]
    for row in rows:
        await queue.enqueue([row])
        await queue.counts()
    assert await backends(conninfo) == 1  # twenty statements, one connection

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(psycopg.OperationalError):
        await queue.counts()  # the broken connection fails this statement ...
    assert (await queue.counts()).pending == 10  # ... and the next opens a new one
    claimed = await queue.claim(now, timedelta(minutes=2))
    assert {c.notification_id for c in claimed} == {r["notification_id"] for r in rows}
    await queue.close()
    assert await backends(conninfo) == 0


async def test_a_service_without_a_delivery_queue_shows_none(infra: ServiceSettings) -> None:
    records = infra.model_copy(update={"postgres_db": "postgres"})
    assert await delivery_queue(records) is None
    empty = QueueFigures(0, 0, 0, None)
    assert str(empty) == "pending=0 retrying=0 failed=0 oldest=-"
