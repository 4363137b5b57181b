from datetime import date
from decimal import Decimal

import pytest

from rse_benefits.domain.rules import (
    RuleContext,
    decide_by_rule,
    economic_rule,
    minor_rule,
)
from rse_shared.contracts.identity import coming_of_age

IAS = Decimal("522.50")


def test_a_minor_is_exempt_until_the_day_before_the_18th_birthday() -> None:
    outcome = minor_rule(coming_of_age(date(2010, 6, 15)), today=date(2028, 6, 14))
    assert outcome.decision == "granted"
    assert outcome.valid_until == date(2028, 6, 14)


def test_on_the_day_of_the_18th_birthday_the_citizen_is_no_longer_a_minor() -> None:
    assert (
        minor_rule(coming_of_age(date(2010, 6, 15)), today=date(2028, 6, 15)).decision == "denied"
    )


def test_a_29_february_birth_turns_18_on_1_march() -> None:
    assert coming_of_age(date(2008, 2, 29)) == date(2026, 3, 1)
    assert (
        minor_rule(coming_of_age(date(2008, 2, 29)), today=date(2026, 2, 28)).decision == "granted"
    )
    assert minor_rule(coming_of_age(date(2008, 2, 29)), today=date(2026, 3, 1)).decision == "denied"


def test_income_exactly_at_one_and_a_half_ias_is_economic_insufficiency() -> None:
    at_threshold = Decimal("783.75")  # 1.5 x 522.50
    outcome = economic_rule(at_threshold, IAS, date(2026, 1, 10), validity_days=365)
    assert outcome.decision == "granted"
    assert outcome.valid_from == date(2026, 1, 10)
    assert outcome.valid_until == date(2027, 1, 9)


def test_one_cent_above_the_threshold_is_denied() -> None:
    assert economic_rule(Decimal("783.76"), IAS, date(2026, 1, 10), 365).decision == "denied"


@pytest.mark.parametrize(
    "category", ["pregnancy", "disability_60", "blood_donor", "firefighter", "unemployed"]
)
def test_categories_without_data_to_decide_wait_for_an_officer(category: str) -> None:
    ctx = RuleContext(adult_on=date(1998, 1, 1), today=date(2026, 1, 1), ias=IAS, validity_days=365)
    assert decide_by_rule(category, ctx) is None  # type: ignore[arg-type]


def test_economic_insufficiency_without_a_declared_income_waits_for_an_officer() -> None:
    ctx = RuleContext(adult_on=date(1998, 1, 1), today=date(2026, 1, 1), ias=IAS, validity_days=365)
    assert decide_by_rule("economic_insufficiency", ctx) is None
