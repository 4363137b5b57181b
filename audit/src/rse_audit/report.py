"""`rse-audit report`: a human-readable HTML report and machine-readable exports.

Metadata only: who, which category, when, under which consent, with what decision.
"""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path
from typing import Any

from rse_audit.fhir import audit_event, consent_facts
from rse_audit.history import accesses_of, consents_of, decisions_of
from rse_shared.clock import utcnow
from rse_shared.fhir import collection, consent_resource


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr"
        + (' class="emergency"' if row.get("decision") == "emergency" else "")
        + ">"
        + "".join(f"<td>{html.escape(_text(row.get(c)))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


STYLE = """body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}.emergency{background:#fdd}
.stale{background:#ffd;border:1px solid #cc0;padding:8px}"""


CONSENT_COLUMNS = [
    "consent_id",
    "grantee_kind",
    "grantee_id",
    "categories",
    "valid_from",
    "valid_until",
    "granted_at",
    "revoked_at",
    "expired_at",
]
ACCESS_COLUMNS = [
    "accessed_at",
    "practitioner_id",
    "health_unit",
    "categories",
    "decision",
    "consent_id",
    "emergency_reason",
]
DECISION_COLUMNS = ["decided_at", "kind", "subject_id", "outcome"]


def _summary(
    consents: list[dict[str, Any]],
    accesses: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
) -> str:
    emergencies = sum(1 for a in accesses if a["decision"] == "emergency")
    denied = sum(1 for a in accesses if a["decision"] == "deny")
    # Byte for byte the paragraph the report has always written, its line break included.
    return (
        f"{len(accesses)} accesses ({denied} denied, {emergencies} emergency), "
        f"{len(consents)} consents,\n{len(decisions)} decisions."
    )


def render_html(
    title: str,
    consents: list[dict[str, Any]],
    accesses: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    stale: str | None = None,
) -> str:
    """The whole report as one HTML page: a summary line, then one table per kind of fact."""
    warning = f'<p class="stale">WARNING: {html.escape(stale)}</p>\n' if stale else ""
    return f"""<!doctype html><html lang="pt"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
{warning}<p>{_summary(consents, accesses, decisions)}</p>
<h2>Consents</h2>{_table(consents, CONSENT_COLUMNS)}
<h2>Accesses</h2>{_table(accesses, ACCESS_COLUMNS)}
<h2>Decisions</h2>{_table(decisions, DECISION_COLUMNS)}
</body></html>"""


def write_report(
    db: sqlite3.Connection,
    out: Path,
    *,
    citizen_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    stale: str | None = None,
) -> list[Path]:
    """report.html, JSON lines and the FHIR bundles; `stale` says what the history lacks."""
    out.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    accesses = accesses_of(db, citizen_id, since, until)
    consents = consents_of(db, citizen_id) if citizen_id else []
    decisions = decisions_of(db, citizen_id) if citizen_id else []
    title = (
        f"Access report — citizen {citizen_id}"
        if citizen_id
        else (f"Access report — {since or 'start'} to {until or 'now'}")
    )
    files = {
        "report.html": render_html(title, consents, accesses, decisions, stale),
        "accesses.jsonl": "".join(json.dumps(a) + "\n" for a in accesses),
        "consents.jsonl": "".join(json.dumps(c) + "\n" for c in consents),
        "audit-events.fhir.json": json.dumps(
            collection([audit_event(a) for a in accesses], now), indent=1
        ),
        "consents.fhir.json": json.dumps(
            collection([consent_resource(consent_facts(c), now) for c in consents], now), indent=1
        ),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]
