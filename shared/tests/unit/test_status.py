"""rse-status finds each consumer group's dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rse_shared.status import (
    QueueFigures,
    ReviewBacklog,
    ServiceStatus,
    dead_letter_topics,
    render,
)


def test_a_groups_dead_letters_are_found_under_any_deployment_prefix() -> None:
    existing = {
        "records.requests.events.dlq",
        "records.poison.requests.events.dlq",
        "records.identity.events",
        "requests.identity.events.dlq",
        "records.audit.keys.dlq",
        "recordsx.requests.events.dlq",
    }
    assert dead_letter_topics("records", existing) == [
        "records.poison.requests.events.dlq",
        "records.requests.events.dlq",
    ]


def test_a_group_that_consumes_nothing_has_no_dead_letters() -> None:
    assert dead_letter_topics("identity", {"identity.identity.events.dlq"}) == []


def test_the_table_shows_a_delivery_queue_where_a_service_keeps_one() -> None:
    queue = QueueFigures(pending=3, retrying=1, failed=2, oldest_pending_seconds=75.4)
    table = render(
        [ServiceStatus("records", health="ready"), ServiceStatus("notifications", queue=queue)]
    )
    header, records, notifications = table.splitlines()
    assert header.rstrip().endswith("DLQ  DELIVERY QUEUE")
    assert notifications.endswith("pending=3 retrying=1 failed=2 oldest=75s")
    assert records.rstrip().endswith("-")


def test_an_empty_queue_has_no_oldest_pending_age() -> None:
    row = {"pending": 0, "retrying": 0, "failed": 0, "oldest_pending_seconds": None}
    assert str(QueueFigures.of(row)) == "pending=0 retrying=0 failed=0 oldest=-"


def test_the_review_backlog_says_how_many_wait_and_how_old_the_oldest_is() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    line = ReviewBacklog(3, now - timedelta(hours=26, minutes=5)).line(now)
    assert line == (
        "emergency accesses awaiting review: 3 (oldest 26h05m ago, 2026-12-01 09:55 UTC)"
    )
    assert ReviewBacklog(0, None).line(now) == "emergency accesses awaiting review: 0"
