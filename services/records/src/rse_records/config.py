"""Records' settings (env prefix RSE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything records needs, from the environment."""

    service_name: str = "records"
    http_port: int = 8003
    # notifications' X25519 public key: prescription codes are sealed to it (default:
    # deploy/local's secrets/notifications_seal.pub outside production).
    notifications_seal_public_key: Path | None = None
    # Break-the-glass accesses one professional may make in a (UTC) day; beyond, refused.
    emergency_daily_quota: int = Field(default=5, ge=1, le=100)
    # How often the review backlog's gauges are refreshed (seconds).
    emergency_metrics_interval: float = Field(default=30.0, gt=0)
