"""`python -m rse_shared.asyncapi [--check]`: write docs/asyncapi.yaml, or check it is current."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rse_shared.asyncapi.document import render

DOC_PATH = Path("docs") / "asyncapi.yaml"


def default_path(start: Path | None = None) -> Path:
    """docs/asyncapi.yaml of the workspace around `start` (the first folder with uv.lock)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "uv.lock").is_file():
            return folder / DOC_PATH
    return here / DOC_PATH


def _check(path: Path, text: str) -> int:
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current != text:
        print(f"{path} is out of date: run `uv run python -m rse_shared.asyncapi`", file=sys.stderr)
        return 1
    print(f"{path} is up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rse-asyncapi", description="Write the AsyncAPI document of every Kafka topic."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the file is not what would be written",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help=f"the file (default: {DOC_PATH} of the workspace)"
    )
    args = parser.parse_args(argv)
    path: Path = args.output or default_path()
    text = render()
    if args.check:
        return _check(path, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
