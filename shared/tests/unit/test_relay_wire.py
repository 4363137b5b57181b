"""The relay's wire bytes: C driver, one serialisation per event, chained like `link`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg

from rse_shared.chain import GENESIS, chain_hash, link, verify_partition
from rse_shared.notify import Listener, Sleep, Waiter
from rse_shared.relay import encode_linked

DOCUMENTS: list[dict[str, Any]] = [
    {
        "event_id": "e1",
        "event_type": "CitizenRegistered",
        "full_name": "João Gonçalves",
        "n": 1,
        "ratio": 0.1,
        "tiny": 1e-07,
        "none": None,
        "tags": ["a", "ç"],
        "nested": {"b": 2},
    },
    {"event_id": "e2", "event_type": "ConsentGranted", "text": 'tab\t"quote" \u2028 \U0001f600'},
]


def test_psycopg_runs_its_c_driver() -> None:
    assert psycopg.pq.__impl__ in {"binary", "c"}


def test_the_published_bytes_parse_to_what_link_builds() -> None:
    prev = GENESIS
    for document in DOCUMENTS:
        own, value = encode_linked(document, prev)
        parsed = json.loads(value)
        assert parsed == link(document, prev)
        assert parsed["chain_hash"] == own == chain_hash(parsed)
        prev = own


def test_published_bytes_form_a_chain_the_auditor_verifies() -> None:
    prev, records = GENESIS, []
    for offset, document in enumerate(DOCUMENTS * 3):
        prev, value = encode_linked({**document, "event_id": f"e{offset}"}, prev)
        records.append((offset, json.loads(value)))
    result = verify_partition(records)
    assert result.broken is None and result.chained == len(records)


async def test_a_waiter_wakes_at_once_when_rung_and_then_waits_again() -> None:
    listener = Listener("postgresql://unused", "channel")
    waiter, stop = listener.waiter(), asyncio.Event()
    listener.ring()
    await asyncio.wait_for(waiter.wait(stop, 30.0), timeout=1.0)
    started = asyncio.get_running_loop().time()
    await waiter.wait(stop, 0.2)  # nothing rang since: the safety poll ends the wait
    assert asyncio.get_running_loop().time() - started >= 0.19


async def test_a_waiter_returns_when_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(Waiter().wait(stop, 30.0), timeout=1.0)
    await asyncio.wait_for(Sleep().wait(stop, 30.0), timeout=1.0)
