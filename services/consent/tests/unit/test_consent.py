from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from rse_consent.domain.consent import (
    Consent,
    ConsentNotActive,
    Grantee,
    InvalidConsent,
    Validity,
    expand_categories,
)
from rse_shared.contracts import CATEGORIES

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)


def a_consent(
    valid_from: datetime | None = None,
    valid_until: datetime | None = NOW + 30 * DAY,
    categories: tuple[str, ...] = ("vaccinations",),
) -> Consent:
    return Consent.grant(
        uuid4(), Grantee("professional", "P-100"), categories, NOW, valid_from, valid_until
    )


def test_all_expands_to_every_category_in_canonical_order() -> None:
    assert expand_categories(["all"]) == CATEGORIES
    assert expand_categories(["referrals", "all"]) == CATEGORIES


def test_categories_are_kept_once_each_in_canonical_order() -> None:
    assert expand_categories(["referrals", "vaccinations", "referrals"]) == (
        "vaccinations",
        "referrals",
    )


@pytest.mark.parametrize("categories", [[], ["x-rays"], ["all", "x-rays"]])
def test_no_category_or_an_unknown_one_is_refused(categories: list[str]) -> None:
    with pytest.raises(InvalidConsent):
        expand_categories(categories)


def test_a_grant_of_all_records_the_explicit_list() -> None:
    consent = a_consent(categories=("all",))
    granted = consent.collect_events()[0]
    assert isinstance(granted, Consent.Granted)
    assert tuple(granted.categories) == CATEGORIES


@pytest.mark.parametrize(
    ("kind", "grantee_id"),
    [("professional", None), ("professional", " "), ("health_unit", None), ("all_sns", "P-1")],
)
def test_a_grantee_is_named_exactly_when_it_is_one_professional_or_unit(
    kind: str,
    grantee_id: str | None,
) -> None:
    with pytest.raises(InvalidConsent):
        Grantee(kind, grantee_id)  # type: ignore[arg-type]


def test_a_consent_to_all_sns_professionals_names_nobody() -> None:
    consent = Consent.grant(uuid4(), Grantee("all_sns"), ["all"], NOW)
    assert consent.grantee == Grantee("all_sns", None) and consent.valid_until is None


def test_a_grant_is_valid_from_now_unless_a_later_start_is_given() -> None:
    assert a_consent().valid_from == NOW
    assert a_consent(valid_from=NOW + DAY).valid_from == NOW + DAY


def test_a_consent_cannot_start_in_the_past() -> None:
    with pytest.raises(InvalidConsent, match="past"):
        a_consent(valid_from=NOW - TICK)


@pytest.mark.parametrize("valid_until", [NOW, NOW - DAY])
def test_a_consent_must_end_after_it_starts(valid_until: datetime) -> None:
    with pytest.raises(InvalidConsent, match="end after"):
        a_consent(valid_until=valid_until)


def test_validity_dates_without_a_time_zone_are_refused() -> None:
    with pytest.raises(InvalidConsent, match="time zone"):
        a_consent(valid_until=datetime(2027, 1, 1))


def test_validity_dates_are_kept_in_utc() -> None:
    lisbon_summer = timezone(timedelta(hours=1))
    consent = a_consent(valid_until=datetime(2027, 7, 1, 0, 0, tzinfo=lisbon_summer))
    assert consent.valid_until == datetime(2027, 6, 30, 23, 0, tzinfo=UTC)
    assert consent.valid_until.utcoffset() == timedelta(0)


def test_a_date_beyond_what_utc_can_express_is_refused() -> None:
    with pytest.raises(InvalidConsent, match="out of range"):
        a_consent(valid_until=datetime.max.replace(tzinfo=timezone(-timedelta(hours=14))))


def test_revoking_records_the_moment_and_cannot_be_repeated() -> None:
    consent = a_consent()
    consent.revoke(NOW + DAY)
    assert consent.revoked_at == NOW + DAY
    with pytest.raises(ConsentNotActive, match="revoked"):
        consent.revoke(NOW + 2 * DAY)


def test_a_consent_whose_end_date_passed_cannot_be_revoked() -> None:
    consent = a_consent(valid_until=NOW + DAY)
    with pytest.raises(ConsentNotActive, match="expired"):
        consent.revoke(NOW + DAY)


def test_a_consent_is_due_to_expire_from_its_end_date_on() -> None:
    consent = a_consent(valid_until=NOW + DAY)
    assert not consent.is_due_to_expire(NOW + DAY - TICK)
    assert consent.is_due_to_expire(NOW + DAY)


def test_expiry_records_the_end_date_not_when_it_was_noticed() -> None:
    consent = a_consent(valid_until=NOW + DAY)
    consent.expire(NOW + 3 * DAY)
    assert consent.expired_at == NOW + DAY
    with pytest.raises(ConsentNotActive):
        consent.expire(NOW + 4 * DAY)


def test_open_ended_and_revoked_consents_never_expire() -> None:
    open_ended, revoked = a_consent(valid_until=None), a_consent(valid_until=NOW + DAY)
    revoked.revoke(NOW + TICK)
    for consent in (open_ended, revoked):
        assert not consent.is_due_to_expire(NOW + 365 * DAY)
        with pytest.raises(ConsentNotActive):
            consent.expire(NOW + 365 * DAY)


def test_a_consent_is_in_force_from_its_start_inclusive_to_its_end_exclusive() -> None:
    validity = Validity(granted_at=NOW, valid_from=NOW + DAY, valid_until=NOW + 2 * DAY)
    assert validity.status_at(NOW - TICK) is None
    assert validity.status_at(NOW) == "pending"
    assert validity.status_at(NOW + DAY - TICK) == "pending"
    assert validity.status_at(NOW + DAY) == "active"
    assert validity.status_at(NOW + 2 * DAY - TICK) == "active"
    assert validity.status_at(NOW + 2 * DAY) == "expired"


def test_as_of_answers_across_a_grant_a_revocation_and_an_expiry_never_change() -> None:
    revoked, lapsed = a_consent(valid_until=None), a_consent(valid_until=NOW + 10 * DAY)
    revoked.revoke(NOW + 5 * DAY)
    lapsed.expire(NOW + 11 * DAY)

    def in_force(at: datetime) -> list[bool]:
        return [c.validity.in_force(at) for c in (revoked, lapsed)]

    assert in_force(NOW - TICK) == [False, False]  # not granted yet
    assert in_force(NOW) == [True, True]  # granted and valid from that instant
    assert in_force(NOW + 5 * DAY - TICK) == [True, True]
    assert in_force(NOW + 5 * DAY) == [False, True]  # revoked from revoked_at on
    assert in_force(NOW + 10 * DAY - TICK) == [False, True]
    assert in_force(NOW + 10 * DAY) == [False, False]  # lapsed at its end date
    assert revoked.validity.status_at(NOW + 20 * DAY) == "revoked"
    assert lapsed.validity.status_at(NOW + 20 * DAY) == "expired"


def test_an_expiry_noticed_late_does_not_rewrite_when_the_consent_ended() -> None:
    consent = a_consent(valid_until=NOW + DAY)
    before = [consent.validity.status_at(NOW + DAY + n * TICK) for n in (-1, 0, 1)]
    consent.expire(NOW + 7 * DAY)
    after = [consent.validity.status_at(NOW + DAY + n * TICK) for n in (-1, 0, 1)]
    assert before == after == ["active", "expired", "expired"]
