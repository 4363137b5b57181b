"""Integration events published by the benefits service on `benefits.events`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from rse_shared.contracts.envelope import IntegrationEvent, contract

ExemptionCategory = Literal[
    "economic_insufficiency",
    "pregnancy",
    "minor",
    "disability_60",
    "blood_donor",
    "living_organ_donor",
    "firefighter",
    "unemployed",
    "transplant_recipient",
    "military_disability",
    "former_combatant",
    "asylum_seeker_or_refugee",
    "child_in_protection",
]


@contract
class ExemptionRequested(IntegrationEvent):
    """A citizen asked to be exempted from user fees (taxas moderadoras)."""

    protected_fields: ClassVar[tuple[str, ...]] = ("category",)

    exemption_id: uuid.UUID
    category: ExemptionCategory
    renews: uuid.UUID | None = None


@contract
class ExemptionDecided(IntegrationEvent):
    """An exemption was granted or denied, by a rule or by a benefits officer.

    The category (pregnancy, disability, refugee...) and the reason that explains it are
    protected; who decided (`basis`: a rule or an officer), the decision and the validity
    stay in clear for the audit.
    """

    protected_fields: ClassVar[tuple[str, ...]] = ("category", "reason")

    exemption_id: uuid.UUID
    category: ExemptionCategory
    decision: Literal["granted", "denied"]
    basis: Literal["rule", "officer"]
    valid_from: date | None
    valid_until: date | None
    reason: str


@contract
class ExemptionExpired(IntegrationEvent):
    """A granted exemption reached the end of its validity."""

    protected_fields: ClassVar[tuple[str, ...]] = ("category",)

    exemption_id: uuid.UUID
    category: ExemptionCategory
    expired_on: date
