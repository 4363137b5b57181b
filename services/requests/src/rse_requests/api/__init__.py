"""Requests' HTTP API: one router per resource, over the bodies and views of `schemas`."""

from __future__ import annotations

from fastapi import APIRouter

from rse_requests.api.appointments import appointments
from rse_requests.api.practitioners import practitioners
from rse_requests.api.referrals import citizen_referrals, referrals
from rse_requests.api.renewals import renewals

ROUTERS: tuple[APIRouter, ...] = (
    appointments,
    renewals,
    citizen_referrals,
    practitioners,
    referrals,
)

__all__ = ["ROUTERS", "appointments", "citizen_referrals", "practitioners", "referrals", "renewals"]
