"""Consent's HTTP API: consents (with history and FHIR export), access history, alerts."""

from __future__ import annotations

from fastapi import APIRouter

from rse_consent.api import access_history, alerts, consents

ROUTERS: tuple[APIRouter, ...] = (consents.router, access_history.router, alerts.router)

__all__ = ["ROUTERS", "access_history", "alerts", "consents"]
