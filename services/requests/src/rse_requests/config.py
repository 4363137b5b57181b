"""Requests' settings (env prefix RSE_)."""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

from pydantic import Field, field_validator

from rse_requests.domain.rules import DEFAULT_TMRG_DAYS
from rse_shared.contracts import Priority
from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything requests needs, from the environment."""

    service_name: str = "requests"
    http_port: int = 8004
    # How far ahead a citizen may book with their family doctor.
    booking_horizon_days: int = Field(default=60, ge=1)
    # User fee of a primary-care consultation: abolished in Portugal since 2020, hence 0.00;
    # views still show it with the citizen's exemption status.
    consultation_fee: Decimal = Field(default=Decimal("0.00"), ge=0, decimal_places=2)
    # Maximum guaranteed response time (TMRG) per referral priority, in days.
    tmrg_days: dict[Priority, int] = Field(default_factory=lambda: dict(DEFAULT_TMRG_DAYS))
    tmrg_check_interval: float = 60.0
    # Longest validity a doctor may give an approved renewal.
    prescription_max_validity_days: int = Field(default=365, ge=1)

    @field_validator("tmrg_days")
    @classmethod
    def _every_priority(cls, value: dict[Priority, int]) -> dict[Priority, int]:
        missing = set(get_args(Priority)) - set(value)
        if missing or any(days < 1 for days in value.values()):
            raise ValueError(f"tmrg_days needs a positive number of days for {sorted(missing)}")
        return value
