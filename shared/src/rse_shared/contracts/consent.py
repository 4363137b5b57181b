"""Integration events published by the consent service on `consent.events`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from rse_shared.contracts.envelope import IntegrationEvent, contract

Category = Literal["health_summary", "vaccinations", "prescriptions", "care_plan", "referrals"]
CATEGORIES: tuple[Category, ...] = (
    "health_summary",
    "vaccinations",
    "prescriptions",
    "care_plan",
    "referrals",
)
GranteeKind = Literal["professional", "health_unit", "all_sns"]
Purpose = Literal["treatment"]


@contract
class ConsentGranted(IntegrationEvent):
    """The citizen authorised a grantee to read some categories of their record.

    `grantee_id` is a practitioner id (professional), a health unit id (health_unit), or
    None (all_sns: every SNS professional). `categories` is always explicit (never "all").
    """

    consent_id: uuid.UUID
    grantee_kind: GranteeKind
    grantee_id: str | None
    categories: tuple[Category, ...]
    purpose: Purpose
    valid_from: datetime
    valid_until: datetime | None


@contract
class ConsentRevoked(IntegrationEvent):
    """The citizen withdrew a consent; no read may rely on it from `revoked_at`."""

    consent_id: uuid.UUID
    revoked_at: datetime


@contract
class ConsentExpired(IntegrationEvent):
    """A consent's end date passed."""

    consent_id: uuid.UUID
    expired_at: datetime


@contract
class AccessAlertRaised(IntegrationEvent):
    """Someone read, wrote or listed the citizen's record and the citizen is told (always if
    emergency); `action` is "read" in alerts raised before writes were reported."""

    alert_id: uuid.UUID
    access_id: uuid.UUID
    practitioner_id: str
    health_unit: str | None
    categories: tuple[Category, ...]
    decision: Literal["permit", "deny", "emergency"]
    accessed_at: datetime
    action: Literal["read", "write", "list", "review"] = "read"
