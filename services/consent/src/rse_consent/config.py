"""Consent's settings (env prefix RSE_)."""

from __future__ import annotations

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything consent needs, from the environment."""

    service_name: str = "consent"
    http_port: int = 8002
    expiry_check_interval: float = 30.0
