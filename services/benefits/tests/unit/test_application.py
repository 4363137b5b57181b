import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from rse_benefits.application import BenefitsApplication, ExemptionNotFound
from rse_benefits.domain.beneficiary import AlreadyOpen, NotABeneficiary
from rse_benefits.domain.exemption import Exemption, ExemptionNotPending
from rse_shared.contracts import CitizenDeregistered, CitizenRegistered
from rse_shared.contracts.identity import coming_of_age
from rse_shared.testing import ManualClock, a_registration, feed

Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 12, tzinfo=UTC))


@pytest.fixture
def app(clock: Clock) -> BenefitsApplication:
    return BenefitsApplication(clock=clock)


def a_citizen(app: BenefitsApplication, born: date = date(1980, 5, 17)) -> uuid.UUID:
    registered = a_registration()
    feed(app, registered.model_copy(update={"adult_on": coming_of_age(born)}))
    return registered.citizen_id


def test_a_minor_is_granted_at_once_by_rule(app: BenefitsApplication) -> None:
    citizen = a_citizen(app, born=date(2015, 3, 1))
    exemption = app.request_exemption(citizen, "minor", [])
    assert exemption.status == "granted"
    assert exemption.valid_until == date(2033, 2, 28)


def test_declared_low_income_is_granted_by_rule_high_income_denied(
    app: BenefitsApplication,
) -> None:
    poor, rich = a_citizen(app), a_citizen(app)
    assert (
        app.request_exemption(poor, "economic_insufficiency", [], Decimal("500.00")).status
        == "granted"
    )
    assert (
        app.request_exemption(rich, "economic_insufficiency", [], Decimal("2500.00")).status
        == "denied"
    )


def test_other_categories_wait_for_an_officer_who_decides(app: BenefitsApplication) -> None:
    citizen = a_citizen(app)
    exemption = app.request_exemption(
        citizen, "blood_donor", [{"kind": "card", "reference": "IPST-1"}]
    )
    assert exemption.status == "pending"
    decided = app.decide_exemption(
        exemption.id, "granted", date(2027, 11, 26), "card seen", "officer-1"
    )
    assert decided.status == "granted"
    with pytest.raises(ExemptionNotPending):
        app.decide_exemption(exemption.id, "denied", None, "again", "officer-1")


def test_one_open_exemption_per_category(app: BenefitsApplication) -> None:
    citizen = a_citizen(app)
    app.request_exemption(citizen, "pregnancy", [])
    with pytest.raises(AlreadyOpen):
        app.request_exemption(citizen, "pregnancy", [])
    app.request_exemption(citizen, "firefighter", [])  # another category is fine


def test_a_denied_request_can_be_asked_again(app: BenefitsApplication) -> None:
    citizen = a_citizen(app)
    first = app.request_exemption(citizen, "pregnancy", [])
    app.decide_exemption(first.id, "denied", None, "no evidence", "officer-1")
    assert app.request_exemption(citizen, "pregnancy", []).status == "pending"


def test_a_granted_exemption_lapses_after_its_last_day_and_can_be_renewed(
    app: BenefitsApplication,
    clock: Clock,
) -> None:
    citizen = a_citizen(app)
    granted = app.request_exemption(citizen, "economic_insufficiency", [], Decimal("100"))
    assert not app.expire_if_due(granted.id)
    clock.now = datetime.combine(
        granted.valid_until + timedelta(days=1),  # type: ignore[operator]
        time(12),
        UTC,
    )
    assert app.expire_if_due(granted.id)
    assert app.exemption(granted.id).status == "expired"
    renewed = app.request_exemption(
        citizen, "economic_insufficiency", [], Decimal("100"), renews=granted.id
    )
    assert renewed.status == "granted" and renewed.renews == granted.id


def test_an_unknown_or_deregistered_citizen_cannot_request(app: BenefitsApplication) -> None:
    with pytest.raises(NotABeneficiary):
        app.request_exemption(uuid.uuid4(), "pregnancy", [])
    citizen = a_citizen(app)
    pending = app.request_exemption(citizen, "pregnancy", [])
    feed(
        app,
        CitizenDeregistered(**_envelope(citizen), reason="death", effective_date=date(2026, 11, 1)),
    )
    assert app.exemption(pending.id).status == "cancelled"
    with pytest.raises(NotABeneficiary):
        app.request_exemption(citizen, "firefighter", [])


def test_today_is_the_date_in_utc_whatever_the_clocks_zone(
    app: BenefitsApplication, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 27, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    exemption = app.request_exemption(a_citizen(app), "pregnancy", [])
    requested = next(iter(app.events.get(exemption.id)))
    assert isinstance(requested, Exemption.Requested)
    assert requested.requested_on == date(2026, 11, 28)


def test_renewing_someone_elses_exemption_is_refused(app: BenefitsApplication) -> None:
    owner, other = a_citizen(app), a_citizen(app)
    granted = app.request_exemption(owner, "economic_insufficiency", [], Decimal("1"))
    with pytest.raises(ExemptionNotFound):
        app.request_exemption(other, "economic_insufficiency", [], Decimal("1"), renews=granted.id)


def test_the_decision_event_carries_citizen_and_category(app: BenefitsApplication) -> None:
    citizen = a_citizen(app, born=date(2015, 1, 1))
    exemption = app.request_exemption(citizen, "minor", [])
    decided = [e for e in app.events.get(exemption.id) if isinstance(e, Exemption.Decided)]
    assert decided[0].citizen_id == citizen and decided[0].category == "minor"


def _envelope(citizen_id: uuid.UUID) -> dict[str, object]:
    base = a_registration(citizen_id, position=99).model_dump()
    keep = set(CitizenRegistered.model_fields) - {"sns_number", "full_name", "adult_on"}
    return {k: v for k, v in base.items() if k in keep}
