"""Issue 13's targets beside the figures of the latest run (bench/out/<name>.json).

    uv run python bench/targets.py        # `make bench` runs it last

A row whose benchmark has not run (or failed before saving its figures) says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common import OUT, table

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One row: which benchmark, how its figures read, what the target is, whether met."""

    path: str
    bench: str
    reached: Callable[[Figures], str]
    target: str
    met: Callable[[Figures], bool]


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f} ms"


TARGETS = (
    Target(
        "consumer + projection",
        "consumer_projection",
        lambda f: f"{f['rate']:,.0f} events/s, {f['batched_ratio']:.2f} x batched raw write",
        ">= 2,000 events/s and >= 0.3 x",
        lambda f: f["rate"] >= 2000 and f["batched_ratio"] >= 0.3,
    ),
    Target(
        "relay",
        "relay_publish",
        lambda f: f"{f['ratio']:.2f} x raw produce",
        ">= 0.5 x",
        lambda f: f["ratio"] >= 0.5,
    ),
    Target(
        "append",
        "eventstore_append",
        lambda f: (
            f"{f['ratio']:.2f} x raw INSERT (a new citizen's first, its data key made: "
            f"{f.get('new_citizen_ratio', math.nan):.2f})"
        ),
        ">= 0.6 x",
        lambda f: f["ratio"] >= 0.6,
    ),
    Target(
        "audit replay",
        "audit_replay",
        lambda f: f"{f['rate']:,.0f} events/s ({f['ratio']:.2f} x raw consume)",
        ">= 100k events/s",
        lambda f: f["rate"] >= 100_000,
    ),
    Target(
        "command -> other service's projection, mixed",
        "mixed_load",
        lambda f: (
            f"{f['rate']:g}/s ({f['started']} of {f['commands']} started): worst path "
            f"p50 {_ms(f['p50_ms'])}, p99 {_ms(f['p99_ms'])}; max lag {f['max_lag']}"
        ),
        "200/s: p50 <= 50 ms, p99 <= 150 ms, lag bounded",
        lambda f: f["rate"] >= 200 and f["p50_ms"] <= 50 and f["p99_ms"] <= 150,
    ),
    Target(
        "revocation -> denial under that load",
        "mixed_load",
        lambda f: f"p99 {_ms(f['revocation_p99_ms'])}",
        "p99 <= 150 ms",
        lambda f: f["rate"] >= 200 and f["revocation_p99_ms"] <= 150,
    ),
    Target(
        "revocation -> denial, 4 readers, no other load",
        "revocation_delay",
        lambda f: f"p99 {_ms(f['p99_ms'])}",
        "(idle reference)",
        lambda f: f["p99_ms"] <= 150,
    ),
    Target(
        "scale-out, records on 6 partitions",
        "scale_out",
        lambda f: f"one {f['one']:,.0f}/s, two {f['two']:,.0f}/s ({f['two'] / f['one']:.2f} x)",
        "two > one",
        lambda f: f["two"] > f["one"],
    ),
)


def row(target: Target) -> tuple[str, str, str, str]:
    source = OUT / f"{target.bench}.json"
    if not source.exists():
        return (target.path, f"not measured ({target.bench} has not run)", target.target, "-")
    figures: Figures = json.loads(source.read_text())
    met = "yes" if target.met(figures) else "no"
    return (target.path, target.reached(figures), target.target, met)


def main() -> None:
    print("issue 13 targets, latest figures (bench/out/*.json)")
    print(table(("path", "reached", "target", "met"), [row(t) for t in TARGETS]))


if __name__ == "__main__":
    main()
