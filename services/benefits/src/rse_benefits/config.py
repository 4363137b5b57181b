"""Benefits' settings (env prefix RSE_)."""

from __future__ import annotations

from decimal import Decimal

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything benefits needs, from the environment."""

    service_name: str = "benefits"
    http_port: int = 8005
    # Indexante dos Apoios Sociais, in euros; 522.50 is the 2025 value (Portaria 6-B/2025).
    ias: Decimal = Decimal("522.50")
    exemption_validity_days: int = 365
    expiry_check_interval: float = 60.0
