"""rse-status finds each consumer group's dead letters."""

from __future__ import annotations

from rse_shared.status import dead_letter_topics


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
