"""The replay's batched writes equal row-by-row ones; orjson decodes what json would."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from rse_audit.kafka_log import decode, decode_fast
from rse_audit.replay import APPLY, Writer, open_store
from rse_shared.chain import GENESIS, canonical, chain_hash, link


def grant(n: int) -> dict[str, Any]:
    return {
        "event_type": "ConsentGranted",
        "consent_id": f"c{n}",
        "citizen_id": "z",
        "grantee_kind": "all_sns",
        "categories": ["vaccinations"],
        "purpose": "treatment",
        "valid_from": "2026-01-01",
        "occurred_at": f"2026-01-01T00:00:{n:02d}",
    }


def revoke(n: int, at: str) -> dict[str, Any]:
    return {"event_type": "ConsentRevoked", "consent_id": f"c{n}", "revoked_at": at}


def contents(db: sqlite3.Connection) -> list[Any]:
    return [
        db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("consents", "accesses", "decisions")
    ]


def test_gathered_writes_leave_the_tables_as_row_by_row_writes(tmp_path: Path) -> None:
    log = [
        revoke(1, "before its grant"),
        grant(1),
        grant(2),
        revoke(1, "t1"),
        grant(1),
        revoke(2, "t2"),
        grant(3),
        {"event_type": "Unknown"},
        revoke(3, "t3"),
    ]
    one_by_one, gathered = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    for document in log:
        statement, params = (
            APPLY[document["event_type"]](document)
            if (document["event_type"] in APPLY)
            else (None, ())
        )
        if statement is not None:
            one_by_one.execute(statement.sql, params)
    writer = Writer(gathered)
    for document in log:
        writer.add(document)
    writer.flush()
    assert contents(gathered) == contents(one_by_one)
    revoked = dict(gathered.execute("SELECT consent_id, revoked_at FROM consents").fetchall())
    assert revoked == {"c1": "t1", "c2": "t2", "c3": "t3"}


def test_orjson_decodes_to_the_values_the_chain_hash_was_computed_over() -> None:
    document = {
        "event_type": "RecordAccessed",
        "text": 'João \u2028 \t "q" \U0001f600',
        "ratio": 0.1,
        "tiny": 1e-07,
        "big": 2**63 - 1,
        "none": None,
        "list": [1, 2.5, "ç"],
        "nested": {"b": [{}]},
    }
    linked = link(document, GENESIS)
    for wire in (json.dumps(linked).encode(), canonical(linked, omit="")):
        parsed = decode_fast(wire)
        assert parsed == decode(wire) == json.loads(wire)
        assert parsed is not None and chain_hash(parsed) == linked["chain_hash"]


def test_integers_beyond_64_bits_are_why_the_verifier_keeps_the_exact_decoder() -> None:
    wire = b'{"huge": 123456789012345678901234567890}'
    assert decode(wire) == {"huge": 123456789012345678901234567890}
    assert decode_fast(wire) != decode(wire)  # orjson turns it into a float


def test_what_orjson_refuses_falls_back_to_the_standard_library() -> None:
    assert decode_fast(b'{"nan": NaN}') is not None
    assert decode_fast(b"[1, 2]") is None and decode_fast(b"not json") is None
    assert decode_fast(None) is None


def test_orjson_would_not_serialise_canonically_so_hashing_stays_on_json() -> None:
    assert orjson.dumps({"tiny": 1e-07}) != canonical({"tiny": 1e-07}, omit="")
