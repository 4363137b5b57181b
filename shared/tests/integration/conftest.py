"""Fixtures for the shared kernel's integration tests."""

from __future__ import annotations

import pytest

from rse_shared.settings import ServiceSettings


@pytest.fixture
def settings(infra: ServiceSettings, fresh_database: str, fresh_mongo: str) -> ServiceSettings:
    return infra.model_copy(update={"postgres_db": fresh_database, "mongo_db": fresh_mongo})
