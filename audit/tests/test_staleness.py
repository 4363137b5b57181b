"""`rse-audit report` and `as-of` are never silently stale: replay first, or say what is missing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rse_audit.cli import main
from rse_audit.freshness import lag_of
from rse_shared.contracts import ConsentGranted, RecordAccessed
from rse_shared.settings import ServiceSettings
from rse_shared.testing import create_topic, publish

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_position = iter(range(1, 1_000_000))


def envelope(producer: str, citizen: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": at,
        "producer": producer,
        "citizen_id": citizen,
        "source_position": next(_position),
    }


def granted(citizen: uuid.UUID, consent_id: uuid.UUID) -> ConsentGranted:
    return ConsentGranted(
        **envelope("consent", citizen, T0),
        consent_id=consent_id,
        grantee_kind="professional",
        grantee_id="P-1",
        categories=("vaccinations",),
        purpose="treatment",
        valid_from=T0,
        valid_until=None,
    )


def accessed(citizen: uuid.UUID, consent_id: uuid.UUID, days: int) -> RecordAccessed:
    at = T0 + timedelta(days=days)
    return RecordAccessed(
        **envelope("records", citizen, at),
        access_id=uuid.uuid4(),
        practitioner_id="P-1",
        role="professional",
        health_unit="USF Tejo",
        categories=("vaccinations",),
        purpose="treatment",
        emergency_reason=None,
        decision="permit",
        consent_id=consent_id,
        accessed_at=at,
    )


class Log:
    """Two topics of the test's own, a replayed history of them, and the auditor's commands."""

    def __init__(self, bootstrap: str, db: Path, consent: str, records: str) -> None:
        self.bootstrap, self.db, self.records = bootstrap, db, records
        self.topics = [consent, records]
        self.citizen, self.consent_id = uuid.uuid4(), uuid.uuid4()

    async def audit(self, *command: str) -> int:
        """`rse-audit` as an auditor runs it (its own event loop, so in a thread of its own)."""
        args = ["--bootstrap", self.bootstrap, "--db", str(self.db), *command]
        return await asyncio.to_thread(main, args)

    async def access(self, days: int) -> None:
        await publish(self.bootstrap, self.records, accessed(self.citizen, self.consent_id, days))


@pytest.fixture
async def log(infra: ServiceSettings, tmp_path: Path) -> Log:
    """A grant and one access, replayed; nothing published since."""
    consent = await create_topic(infra.kafka_bootstrap, "consent")
    records = await create_topic(infra.kafka_bootstrap, "records")
    log = Log(infra.kafka_bootstrap, tmp_path / "history.sqlite", consent, records)
    await publish(infra.kafka_bootstrap, consent, granted(log.citizen, log.consent_id))
    await log.access(1)
    assert await log.audit("replay", *[a for t in log.topics for a in ("--topic", t)]) == 0
    return log


def accesses_in(out: Path) -> int:
    return len((out / "accesses.jsonl").read_text().splitlines())


async def test_a_history_replayed_after_the_last_event_is_not_behind(log: Log) -> None:
    lag = await lag_of(log.bootstrap, log.db)
    assert lag.events == 0 and not lag.behind


async def test_the_lag_counts_the_events_since_the_replay_and_the_oldest_ones_time(
    log: Log,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await log.access(2)
    await log.access(3)
    lag = await lag_of(log.bootstrap, log.db)
    assert lag.events == 2 and lag.since is not None and lag.since >= before
    assert "is 2 events behind the log, the oldest published at" in lag.describe()


async def test_the_report_replays_first_and_includes_what_came_after(
    log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await log.access(2)
    assert (
        await log.audit("report", "--citizen", str(log.citizen), "--out", str(tmp_path / "r")) == 0
    )
    assert "1 event behind the log" in capsys.readouterr().err
    assert accesses_in(tmp_path / "r") == 2
    # Replayed now: a second report has nothing to catch up on and says nothing of it.
    assert (
        await log.audit("report", "--citizen", str(log.citizen), "--out", str(tmp_path / "s")) == 0
    )
    assert "behind" not in capsys.readouterr().err
    assert "WARNING" not in (tmp_path / "s" / "report.html").read_text()


async def test_the_report_without_replay_warns_in_its_output_and_its_page(
    log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await log.access(2)
    out = tmp_path / "r"
    assert (
        await log.audit("report", "--citizen", str(log.citizen), "--out", str(out), "--no-replay")
        == 0
    )
    err = capsys.readouterr().err
    assert "WARNING" in err and "1 event behind the log" in err and "--no-replay" in err
    assert accesses_in(out) == 1
    assert "1 event behind the log" in (out / "report.html").read_text()


async def test_as_of_replays_first_unless_told_not_to(
    log: Log, capsys: pytest.CaptureFixture[str]
) -> None:
    await log.access(2)
    later = (T0 + timedelta(days=30)).isoformat()
    assert await log.audit("as-of", str(log.citizen), later, "--no-replay") == 0
    stale = capsys.readouterr()
    assert "1 event behind the log" in stale.err
    assert len(json.loads(stale.out)["accesses"]) == 1
    assert await log.audit("as-of", str(log.citizen), later) == 0
    fresh = capsys.readouterr()
    assert "replaying first" in fresh.err
    answer = json.loads(fresh.out)  # stdout carries the answer alone
    assert len(answer["accesses"]) == 2 and len(answer["consents"]) == 1


async def test_without_a_history_no_replay_says_so_and_answers_nothing(
    infra: ServiceSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never-replayed.sqlite"
    args = ["--bootstrap", infra.kafka_bootstrap, "--db", str(db)]
    command = [*args, "as-of", str(uuid.uuid4()), T0.isoformat(), "--no-replay"]
    assert await asyncio.to_thread(main, command) == 2
    assert "no replayed history" in capsys.readouterr().err
    assert not db.exists()
