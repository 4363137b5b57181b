"""The consumer's judgement of one message, without any I/O."""

from __future__ import annotations

import pytest

from rse_shared.chain import GENESIS, link
from rse_shared.consumer_store import ChainHead
from rse_shared.testing import a_registration
from rse_shared.trust import MAX_POSITION_GAP, expected_owners, judge


def linked(prev: str = GENESIS, **changes: object) -> dict[str, object]:
    return link({**a_registration().to_wire(), **changes}, prev)


def test_the_first_link_on_a_partition_starts_at_genesis() -> None:
    assert judge(linked(), "identity", ChainHead()).status == "accepted"
    assert judge(linked("a" * 64), "identity", ChainHead()).reason == "out of chain"


def test_a_late_joiner_trusts_the_oldest_retained_record() -> None:
    assert (
        judge(linked("a" * 64, source_position=10**9), "identity", ChainHead(), oldest=True).status
        == "accepted"
    )


def test_another_producer_or_an_event_type_the_owner_does_not_publish_is_forged() -> None:
    assert judge(linked(producer="requests"), "identity", ChainHead()).reason == "forged"
    assert judge(linked(producer="consent"), "consent", ChainHead()).reason == "forged"


def test_an_edited_link_is_out_of_chain() -> None:
    edited = {**linked(), "full_name": "Mallory"}
    assert judge(edited, "identity", ChainHead()).reason == "out of chain"


def test_a_link_seen_before_is_a_duplicate() -> None:
    first = linked()
    head = ChainHead()
    head.advance(str(first["chain_hash"]), 1)
    head.advance(str(linked(str(first["chain_hash"]))["chain_hash"]), 2)
    assert judge(first, "identity", head).status == "duplicate"


def test_a_position_far_beyond_the_partitions_is_implausible() -> None:
    assert (
        judge(linked(source_position=MAX_POSITION_GAP + 1), "identity", ChainHead()).reason
        == "implausible position"
    )


def test_owners_come_from_the_topology_names_or_are_given() -> None:
    assert expected_owners(["staging.consent.events"], prefix="staging.") == {
        "staging.consent.events": "consent"
    }
    assert expected_owners(["run1.records.events"]) == {"run1.records.events": "records"}
    assert expected_owners(["t.x"], owners={"t.x": "identity"}) == {"t.x": "identity"}
    with pytest.raises(ValueError, match="no owner"):
        expected_owners(["t.x"])
