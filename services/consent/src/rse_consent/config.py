"""Consent's settings (env prefix RSE_)."""

from __future__ import annotations

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything consent needs, from the environment."""

    service_name: str = "consent"
    http_port: int = 8002
    # records reports every access to a record there (RecordAccessed).
    records_topic: str = "records.events"
    expiry_check_interval: float = 30.0
