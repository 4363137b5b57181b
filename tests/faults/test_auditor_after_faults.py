"""After every fault above, the auditor's view still holds.

Invariant: the hash chains of every topic the faults touched verify against their signed
checkpoints (re-publications recognised as such), and a replay of the platform's topics
from offset 0 equals the live projections: consents, access history, decisions.
This test runs after the rest of the suite (see `pytest_collection_modifyitems`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rse_audit.verify import verify
from tests.e2e.conftest import Platform
from tests.e2e.flows import replay_equals_live

from .support import KILLED_PREFIX, POISON_PREFIX

pytestmark = [pytest.mark.integration, pytest.mark.after_the_faults]


async def test_the_auditor_replays_compares_and_verifies_after_the_faults(
    platform: Platform, tmp_path: Path
) -> None:
    # The platform every fault test shared (broker and PostgreSQL restarts, concurrent
    # commands): verify + replay + compare.
    await replay_equals_live(platform, tmp_path)
    # The topics of the services run as processes and killed (identity) or fed poison
    # (records).
    bootstrap = platform.services["identity"].settings.kafka_bootstrap
    summary, findings = await verify(
        bootstrap, [f"{KILLED_PREFIX}identity.events", f"{POISON_PREFIX}records.events"]
    )
    assert findings == []
    assert summary.records > 0
