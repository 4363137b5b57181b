"""The access decision at its boundaries: grantees, categories, validity, endings, emergencies."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rse_records.domain.access_decision import AccessDecision, authorised_categories, decide
from rse_records.domain.consent_register import ConsentRegister

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
CITIZEN = uuid.uuid4()


def a_register() -> ConsentRegister:
    return ConsentRegister(CITIZEN)


def grant(
    register: ConsentRegister,
    *,
    kind: Any = "professional",
    grantee_id: str | None = "P-1",
    categories: tuple[Any, ...] = ("vaccinations",),
    valid_from: datetime = NOW - timedelta(days=1),
    valid_until: datetime | None = NOW + timedelta(days=30),
) -> uuid.UUID:
    consent_id = uuid.uuid4()
    register.grant(
        consent_id, kind, grantee_id, list(categories), "treatment", valid_from, valid_until
    )
    return consent_id


def read(
    register: ConsentRegister | None,
    practitioner: str | None = "P-1",
    unit: str | None = "USF Tejo",
    categories: tuple[Any, ...] = ("vaccinations",),
    now: datetime = NOW,
    emergency: str | None = None,
) -> AccessDecision:
    return decide(register, practitioner, unit, categories, now, emergency)


def test_the_professional_a_consent_names_may_read_a_category_it_covers() -> None:
    register = a_register()
    consent_id = grant(register)
    assert read(register) == AccessDecision("permit", consent_id)


def test_another_professional_is_denied() -> None:
    register = a_register()
    grant(register)
    assert read(register, practitioner="P-2") == AccessDecision("deny", None)


def test_a_token_without_a_practitioner_never_matches_a_professional_consent() -> None:
    register = a_register()
    grant(register, grantee_id=None)
    assert read(register, practitioner=None).decision == "deny"


def test_a_health_unit_consent_covers_every_professional_of_that_unit() -> None:
    register = a_register()
    consent_id = grant(register, kind="health_unit", grantee_id="USF Tejo")
    assert read(register, practitioner="P-9") == AccessDecision("permit", consent_id)


@pytest.mark.parametrize("unit", ["USF Douro", None])
def test_a_health_unit_consent_does_not_cover_another_unit_or_none(unit: str | None) -> None:
    register = a_register()
    grant(register, kind="health_unit", grantee_id="USF Tejo")
    assert read(register, unit=unit).decision == "deny"


def test_an_all_sns_consent_covers_any_professional() -> None:
    register = a_register()
    consent_id = grant(register, kind="all_sns", grantee_id=None)
    assert read(register, practitioner="P-77", unit=None) == AccessDecision("permit", consent_id)


def test_a_category_the_consent_does_not_cover_is_denied() -> None:
    register = a_register()
    grant(register, categories=("vaccinations", "care_plan"))
    assert read(register, categories=("prescriptions",)).decision == "deny"


def test_a_read_of_several_categories_relies_on_one_consent_covering_them_all() -> None:
    register = a_register()
    grant(register, categories=("vaccinations",))
    grant(register, categories=("prescriptions",))
    assert read(register, categories=("vaccinations", "prescriptions")).decision == "deny"
    both = grant(register, categories=("vaccinations", "prescriptions"))
    assert read(register, categories=("vaccinations", "prescriptions")).consent_id == both


@pytest.mark.parametrize(
    ("moment", "decision"),
    [
        (NOW - timedelta(days=1) - TICK, "deny"),  # a microsecond before it starts
        (NOW - timedelta(days=1), "permit"),  # the first instant it is valid
        (NOW + timedelta(days=30) - TICK, "permit"),  # the last instant it is valid
        (NOW + timedelta(days=30), "deny"),  # its end is exclusive
    ],
)
def test_a_consent_is_valid_from_its_start_inclusive_to_its_end_exclusive(
    moment: datetime, decision: str
) -> None:
    register = a_register()
    grant(register)
    assert read(register, now=moment).decision == decision


def test_an_open_ended_consent_never_runs_out() -> None:
    register = a_register()
    grant(register, valid_until=None)
    assert read(register, now=NOW + timedelta(days=365 * 50)).decision == "permit"


def test_a_revoked_consent_covers_nothing_whatever_its_revocation_time_says() -> None:
    register = a_register()
    consent_id = grant(register)
    register.revoke(consent_id, revoked_at=NOW + timedelta(minutes=5))  # a fast clock elsewhere
    assert read(register).decision == "deny"


def test_an_expired_consent_covers_nothing_even_within_its_dates() -> None:
    register = a_register()
    consent_id = grant(register)
    register.expire(consent_id, expired_at=NOW)
    assert read(register).decision == "deny"


def test_a_revocation_that_arrives_before_its_grant_still_wins() -> None:
    register = a_register()
    consent_id = uuid.uuid4()
    register.revoke(consent_id, revoked_at=NOW)
    register.grant(
        consent_id,
        "professional",
        "P-1",
        ["vaccinations"],
        "treatment",
        NOW - timedelta(days=1),
        None,
    )
    assert read(register).decision == "deny"


def test_revoking_one_consent_leaves_another_in_force() -> None:
    register = a_register()
    first = grant(register)
    second = grant(register, kind="health_unit", grantee_id="USF Tejo")
    register.revoke(first, revoked_at=NOW)
    assert read(register) == AccessDecision("permit", second)


def test_the_read_relies_on_the_consent_naming_the_reader_most_closely() -> None:
    register = a_register()
    grant(register, kind="all_sns", grantee_id=None)
    grant(register, kind="health_unit", grantee_id="USF Tejo")
    mine = grant(register)
    assert read(register).consent_id == mine


def test_an_emergency_read_without_consent_is_allowed_and_flagged() -> None:
    decision = read(a_register(), emergency="unconscious at the emergency room")
    assert decision == AccessDecision("emergency", None)
    assert decision.allowed


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_blank_emergency_reason_is_no_emergency(reason: str | None) -> None:
    decision = read(a_register(), emergency=reason)
    assert decision == AccessDecision("deny", None)
    assert not decision.allowed


def test_with_a_covering_consent_an_emergency_read_is_an_ordinary_permit() -> None:
    register = a_register()
    consent_id = grant(register)
    assert read(register, emergency="cardiac arrest") == AccessDecision("permit", consent_id)


def test_a_citizen_without_any_consent_is_denied() -> None:
    assert read(None).decision == "deny"


def test_a_read_of_no_category_is_refused_as_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one category"):
        read(a_register(), categories=())


def test_a_consent_with_naive_dates_is_read_as_utc() -> None:
    register = a_register()
    grant(register, valid_from=datetime(2026, 11, 1), valid_until=datetime(2026, 12, 1))
    assert read(register).decision == "permit"


def test_the_authorised_categories_are_those_of_every_consent_naming_the_reader() -> None:
    register = a_register()
    grant(register, categories=("vaccinations",))
    grant(register, kind="health_unit", grantee_id="USF Tejo", categories=("care_plan",))
    grant(register, kind="health_unit", grantee_id="USF Douro", categories=("prescriptions",))
    ended = grant(register, categories=("health_summary",))
    register.expire(ended, expired_at=NOW)
    assert authorised_categories(register, "P-1", "USF Tejo", NOW) == {"vaccinations", "care_plan"}
    assert authorised_categories(None, "P-1", "USF Tejo", NOW) == frozenset()
