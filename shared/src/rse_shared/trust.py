"""What a consumer accepts from a topic: only its owner's events, only as its chain goes on.

A message is applied only if
- its `producer` is the owner of the topic it arrived on and its `event_type`, if this
  reader knows it, is one that owner publishes (rse_shared.contracts.<owner>) - else
  `forged`;
- its `chain_hash` matches its content and its `chain_prev` is the hash of the last link
  this consumer group accepted on that partition - else `out of chain`. A byte-identical
  copy of a link accepted before (a relay's re-publication) is a duplicate. The first
  link a group sees on a partition must start the chain (`chain_prev` = GENESIS) or be
  the partition's oldest retained record (retention removed the chain's start; nothing
  can be inserted before the oldest record, so there is nothing earlier to check);
- its `source_position` is not implausibly far ahead of the positions accepted on the
  partition (a forged 10**12 would otherwise make the citizen's later real events look
  like re-publications to the inbox) - else `implausible position`.

A refused message never moves the chain head or the inbox. A forgery that extends the
chain correctly (someone holding write access to the topic) forks it: the consumer then
refuses the owner's real continuation as `out of chain`, loudly, rather than apply both;
signed checkpoints (rse-audit verify) tell which branch is the owner's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import rse_shared.contracts  # noqa: F401 - importing the package registers every contract
from rse_shared.chain import GENESIS, chain_hash
from rse_shared.consumer_store import ChainHead
from rse_shared.contracts.envelope import registered_contracts
from rse_shared.topics import owner_of

FORGED, OUT_OF_CHAIN, IMPLAUSIBLE = "forged", "out of chain", "implausible position"
REASONS = (FORGED, OUT_OF_CHAIN, IMPLAUSIBLE)

MAX_POSITION_GAP = 10_000_000
"""How far past the highest accepted position a partition's next event may be. Positions
are the producer's notification ids, spread over few partitions: a real gap is the count
of notifications that went to other partitions (or were not published) in between."""


def expected_owners(
    topics: Iterable[str], *, prefix: str = "", owners: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The owner of each subscribed topic: given, or read from `[prefix]<service>.events`.

    The name is the operator's (a subscription), never the message's. A name whose
    prefix is not the configured one may still end in `.<service>.events` (a namespace of
    the deployment's or a test run's before it). A name that is neither given nor names
    its owner is refused: a consumer that cannot tell who may write a topic must not read it.
    """
    found: dict[str, str] = {}
    for topic in topics:
        name = topic.removeprefix(prefix)
        owner = (
            (owners or {}).get(topic)
            or owner_of(name)
            or owner_of(".".join(name.rsplit(".", 2)[-2:]))
        )
        if owner is None:
            raise ValueError(f"no owner known for topic {topic!r}: pass it in `owners`")
        found[topic] = owner
    return found


@cache
def published_by(producer: str) -> frozenset[str]:
    """The event types a producer publishes: those of its contracts module."""
    module = f"rse_shared.contracts.{producer}"
    return frozenset(c.event_type for c in registered_contracts() if c.__module__ == module)


@cache
def known_event_types() -> frozenset[str]:
    return frozenset(c.event_type for c in registered_contracts())


@dataclass(frozen=True)
class Verdict:
    """Whether a message's link is accepted, a duplicate, or refused (and why)."""

    status: str  # "accepted", "duplicate" or "refused"
    reason: str = ""
    detail: str = ""


ACCEPTED, DUPLICATE = Verdict("accepted"), Verdict("duplicate")


def judge(
    document: Mapping[str, Any], owner: str, head: ChainHead, *, oldest: bool = False
) -> Verdict:
    """The verdict on one decoded message; `oldest` if it is its partition's first record."""
    producer, event_type = document.get("producer"), document.get("event_type")
    if producer != owner:
        return Verdict("refused", FORGED, f"producer {producer!r} does not own the topic")
    if event_type in known_event_types() and event_type not in published_by(owner):
        return Verdict("refused", FORGED, f"{owner} does not publish {event_type}")
    link, prev = document.get("chain_hash"), document.get("chain_prev")
    if not isinstance(link, str) or link != chain_hash(dict(document)):
        return Verdict("refused", OUT_OF_CHAIN, "its chain_hash does not match its content")
    if head.has_seen(link):
        return DUPLICATE
    # A late joiner trusts the oldest retained record, position included: nothing precedes it.
    late_start = not head.known and oldest and prev != GENESIS
    if prev != head.hash and not late_start:
        return Verdict("refused", OUT_OF_CHAIN, f"chain_prev does not extend {head.hash[:12]}")
    position = document.get("source_position")
    if not isinstance(position, int) or (
        not late_start and position > head.position + MAX_POSITION_GAP
    ):
        return Verdict("refused", IMPLAUSIBLE, f"source_position {position!r}")
    return ACCEPTED
