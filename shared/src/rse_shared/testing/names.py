"""Where the workspace is, and names no other test uses."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
"""The workspace root (shared/src/rse_shared/testing -> the folder with uv.lock)."""


RUN_LENGTH = 12
RUN_ID = re.compile(rf"[0-9a-f]{{{RUN_LENGTH}}}")
"""The random part `unique` puts in a name (to find what a test run made)."""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:RUN_LENGTH]}"


def infra_script() -> Path:
    return REPO / "deploy" / "local" / "infra.sh"
