"""What the law lets the system decide by itself, from the data it holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from rse_shared.contracts.benefits import ExemptionCategory

ECONOMIC_THRESHOLD_IAS = Decimal("1.5")


@dataclass(frozen=True)
class RuleOutcome:
    """A decision taken by a rule, with its validity."""

    decision: Literal["granted", "denied"]
    valid_from: date | None
    valid_until: date | None
    reason: str


def minor_rule(birthday: date, today: date) -> RuleOutcome:
    """Minors are exempt until the day before their 18th birthday."""
    if today >= birthday:
        return RuleOutcome("denied", None, None, "not a minor on the date of the request")
    return RuleOutcome("granted", today, birthday - timedelta(days=1), "minor (age under 18)")


def economic_rule(
    income_per_person: Decimal, ias: Decimal, today: date, validity_days: int
) -> RuleOutcome:
    """Household monthly income per person at most 1.5 x IAS gives economic insufficiency."""
    threshold = ECONOMIC_THRESHOLD_IAS * ias
    if income_per_person <= threshold:
        return RuleOutcome(
            "granted",
            today,
            today + timedelta(days=validity_days - 1),
            f"income per person {income_per_person} <= 1.5 x IAS ({threshold})",
        )
    return RuleOutcome(
        "denied", None, None, f"income per person {income_per_person} > 1.5 x IAS ({threshold})"
    )


@dataclass(frozen=True)
class RuleContext:
    """The data a rule may use."""

    adult_on: date
    today: date
    ias: Decimal
    validity_days: int
    income_per_person: Decimal | None = None


def decide_by_rule(category: ExemptionCategory, ctx: RuleContext) -> RuleOutcome | None:
    """The rule's decision, or None when a benefits officer must decide."""
    if category == "minor":
        return minor_rule(ctx.adult_on, ctx.today)
    if category == "economic_insufficiency" and ctx.income_per_person is not None:
        return economic_rule(ctx.income_per_person, ctx.ias, ctx.today, ctx.validity_days)
    return None
