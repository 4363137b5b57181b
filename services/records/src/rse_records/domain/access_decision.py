"""The access decision: may this professional read these categories of this record, now?"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rse_records.domain.consent_register import ConsentRegister, ConsentTerms
from rse_shared.contracts.consent import Category
from rse_shared.contracts.records import Decision

# When several consents cover a read, it relies on the one naming the reader most closely.
SPECIFICITY = {"professional": 0, "health_unit": 1, "all_sns": 2}


@dataclass(frozen=True)
class AccessDecision:
    """Permit (under a consent), emergency (break-the-glass, no consent) or deny."""

    decision: Decision
    consent_id: uuid.UUID | None = None

    @property
    def allowed(self) -> bool:
        return self.decision != "deny"


def consents_naming(
    register: ConsentRegister | None,
    practitioner_id: str | None,
    health_unit: str | None,
    now: datetime,
) -> list[ConsentTerms]:
    """The consents in force and valid `now` whose grantee covers this professional."""
    if register is None:
        return []
    return [
        terms
        for terms in register.in_force()
        if terms.is_valid_at(now) and terms.names(practitioner_id, health_unit)
    ]


def decide(
    register: ConsentRegister | None,
    practitioner_id: str | None,
    health_unit: str | None,
    categories: Iterable[Category],
    now: datetime,
    emergency_reason: str | None = None,
) -> AccessDecision:
    """Permit under one consent covering every category; else emergency if a reason is given."""
    wanted = frozenset(categories)
    if not wanted:
        raise ValueError("a read names at least one category")
    covering = [
        terms
        for terms in consents_naming(register, practitioner_id, health_unit, now)
        if terms.covers(wanted)
    ]
    if covering:
        chosen = min(
            covering, key=lambda t: (SPECIFICITY[t.grantee_kind], t.valid_from, str(t.consent_id))
        )
        return AccessDecision("permit", chosen.consent_id)
    # Break-the-glass only where no consent covers the read: with one, it is an ordinary read.
    if emergency_reason and emergency_reason.strip():
        return AccessDecision("emergency")
    return AccessDecision("deny")


def authorised_categories(
    register: ConsentRegister | None,
    practitioner_id: str | None,
    health_unit: str | None,
    now: datetime,
    *,
    named_only: bool = False,
) -> frozenset[Category]:
    """Every category this professional may read now under some consent (with
    `named_only`, under consents naming them or their unit, all-SNS left out)."""
    covered: frozenset[Category] = frozenset()
    for terms in consents_naming(register, practitioner_id, health_unit, now):
        if not (named_only and terms.grantee_kind == "all_sns"):
            covered |= terms.categories
    return covered
