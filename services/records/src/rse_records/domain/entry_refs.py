"""The entries an access names: ids and kinds, never the clinical values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rse_records.domain.record_access import EntryRefs

# Allergies and conditions have no ids of their own; each keeps its place on the list.
CARE_PLAN_ID = "care_plan"


def ref(kind: str, entry_id: object) -> dict[str, str]:
    return {"id": str(entry_id), "kind": kind}


def position_of(items: Sequence[str], item: str) -> int:
    """Where `item` stands on a list compared without case (its id), or -1 if absent."""
    folded = [i.casefold() for i in items]
    return folded.index(item.casefold()) if item.casefold() in folded else -1


def summary_refs(
    allergies: Sequence[str], conditions: Sequence[str], medication_ids: Iterable[str]
) -> EntryRefs:
    """Every entry of a health summary."""
    return (
        [ref("allergy", f"allergies/{i}") for i in range(len(allergies))]
        + [ref("chronic_condition", f"chronic_conditions/{i}") for i in range(len(conditions))]
        + [ref("medication", m) for m in medication_ids]
    )


def refs(kind: str, ids: Iterable[object]) -> EntryRefs:
    return [ref(kind, i) for i in ids]
