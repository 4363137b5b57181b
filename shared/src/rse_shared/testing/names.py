"""Where the workspace is, and names no other test uses."""

from __future__ import annotations

import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
"""The workspace root (shared/src/rse_shared/testing -> the folder with uv.lock)."""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def infra_script() -> Path:
    return REPO / "deploy" / "local" / "infra.sh"
