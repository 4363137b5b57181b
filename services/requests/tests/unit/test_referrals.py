from datetime import timedelta

import pytest

from rse_requests.application import RequestsApplication
from rse_requests.domain.patient import PatientDeregistered
from rse_requests.domain.referral import (
    HospitalStaff,
    InvalidReferralDate,
    NotTheReferralsHospital,
    Referral,
    ReferralTransitionRefused,
)
from rse_requests.published import to_integration_event
from rse_shared.contracts import Priority, ReferralStatusChanged

from .conftest import DOCTOR, NOW, Clock, World

HSM = HospitalStaff(account_id="hsm-desk-1", hospital="Hospital de Santa Maria")


def refer(app: RequestsApplication, world: World, priority: Priority = "normal") -> Referral:
    return app.register_referral(
        world.citizen(), "Cardiologia", "Hospital de Santa Maria", priority, *DOCTOR
    )


@pytest.mark.parametrize(
    ("priority", "days"), [("normal", 120), ("priority", 60), ("very_urgent", 30)]
)
def test_a_referral_gets_its_deadline_from_the_tmrg_of_its_priority(
    app: RequestsApplication,
    world: World,
    priority: Priority,
    days: int,
) -> None:
    referral = refer(app, world, priority)
    assert referral.registered_on == NOW.date()
    assert referral.deadline == NOW.date() + timedelta(days=days)


def test_tmrg_days_are_configurable(clock: Clock) -> None:
    app = RequestsApplication(
        clock=clock, tmrg_days={"normal": 90, "priority": 45, "very_urgent": 10}
    )
    world = World(app)
    assert refer(app, world, "very_urgent").deadline == NOW.date() + timedelta(days=10)


def test_an_unscheduled_referral_is_flagged_only_after_its_deadline(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    referral = refer(app, world, "very_urgent")
    clock.now = NOW + timedelta(days=30)
    assert not app.flag_breach_if_due(referral.id)
    clock.now = NOW + timedelta(days=31)
    assert app.flag_breach_if_due(referral.id)
    breached = app.referral(referral.id)
    assert breached.status == "tmrg_breached" and breached.tmrg_breached
    assert not app.flag_breach_if_due(referral.id)  # flagged once


def test_a_scheduled_referral_is_not_flagged(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    referral = refer(app, world, "very_urgent")
    app.schedule_referral(referral.id, NOW.date() + timedelta(days=40), HSM)
    clock.now = NOW + timedelta(days=31)
    assert not app.flag_breach_if_due(referral.id)


def test_a_breached_referral_can_still_be_scheduled_and_stays_flagged(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    referral = refer(app, world, "priority")
    clock.now = NOW + timedelta(days=61)
    app.flag_breach_if_due(referral.id)
    scheduled = app.schedule_referral(referral.id, clock.now.date() + timedelta(days=5), HSM)
    assert scheduled.status == "scheduled" and scheduled.tmrg_breached


def test_a_referral_is_scheduled_then_completed_and_then_closed(
    app: RequestsApplication,
    world: World,
) -> None:
    referral = refer(app, world)
    with pytest.raises(ReferralTransitionRefused):
        app.complete_referral(referral.id, HSM)
    with pytest.raises(InvalidReferralDate):
        app.schedule_referral(referral.id, NOW.date() - timedelta(days=1), HSM)
    app.schedule_referral(referral.id, NOW.date() + timedelta(days=20), HSM)
    assert app.complete_referral(referral.id, HSM).status == "completed"
    assert app.patient(referral.citizen_id).open_referrals == set()
    with pytest.raises(ReferralTransitionRefused):
        app.cancel_referral(referral.id, "too late", HSM)


def test_a_deregistered_citizen_gets_no_new_referral(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen()
    world.deregister(citizen)
    with pytest.raises(PatientDeregistered):
        app.register_referral(citizen, "Cardiologia", "HSM", "normal", *DOCTOR)


@pytest.mark.parametrize(
    "stranger",
    [
        HospitalStaff(account_id="sj-desk-1", hospital="Hospital de São João"),
        HospitalStaff(account_id="no-hospital", hospital=None),
    ],
)
def test_only_the_referrals_hospital_moves_it_on(
    app: RequestsApplication, world: World, stranger: HospitalStaff
) -> None:
    referral = refer(app, world)
    with pytest.raises(NotTheReferralsHospital):
        app.schedule_referral(referral.id, NOW.date() + timedelta(days=5), stranger)
    with pytest.raises(NotTheReferralsHospital):
        app.cancel_referral(referral.id, "not ours", stranger)
    with pytest.raises(NotTheReferralsHospital):  # before the status check: nothing told
        app.complete_referral(referral.id, stranger)
    assert app.referral(referral.id).status == "registered"


def test_each_change_names_who_made_it_and_the_platforms_own_name_nobody(
    app: RequestsApplication, world: World, clock: Clock
) -> None:
    referral = refer(app, world, "very_urgent")
    clock.now = NOW + timedelta(days=31)
    app.flag_breach_if_due(referral.id)
    app.schedule_referral(referral.id, clock.now.date() + timedelta(days=2), HSM)
    changes = [e for e in app.events.get(referral.id) if isinstance(e, Referral.StatusChanged)]
    published = [to_integration_event(e, position=i + 1) for i, e in enumerate(changes)]
    steps = [
        (p.status, p.changed_by, p.changed_by_role)
        for p in published
        if isinstance(p, ReferralStatusChanged)
    ]
    assert steps == [
        ("tmrg_breached", None, None),
        ("scheduled", "hsm-desk-1", "hospital_staff"),
    ]


def test_a_deregistration_withdraws_open_referrals_on_the_registers_account(
    app: RequestsApplication, world: World
) -> None:
    referral = refer(app, world)
    world.deregister(referral.citizen_id)
    withdrawn = app.referral(referral.id)
    assert withdrawn.status == "cancelled" and withdrawn.reason == "citizen deregistered"
