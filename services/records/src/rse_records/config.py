"""Records' settings (env prefix RSE_)."""

from __future__ import annotations

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything records needs, from the environment."""

    service_name: str = "records"
    http_port: int = 8003
