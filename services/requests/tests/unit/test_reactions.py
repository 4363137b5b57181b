"""What other services' events change here (they arrive through Kafka only)."""

import uuid
from datetime import timedelta

from rse_requests.application import RequestsApplication
from rse_requests.domain.slot import Slot

from .conftest import DOCTOR, NOW, Clock, World


def test_a_new_family_doctor_takes_over_pending_renewals(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen(medications=("M1", "M2"))
    pending = app.request_renewal(citizen, ["M1"])
    decided = app.request_renewal(citizen, ["M2"])
    app.reject_renewal(DOCTOR[0], decided.id, "see me first")
    world.assign(citizen, "P-200", "USF Nova")
    assert app.renewal(pending.id).practitioner_id == "P-200"
    assert app.renewal(pending.id).health_unit == "USF Nova"
    assert app.renewal(decided.id).practitioner_id == DOCTOR[0]
    assert (
        app.approve_renewal("P-200", pending.id, {"M1": 1}, NOW.date() + timedelta(days=90)).status
        == "approved"
    )


def test_deregistration_cancels_future_appointments_and_pending_requests(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    citizen = world.citizen(medications=("M1",))
    past = app.book(citizen, world.slot(days=1))
    future = app.book(citizen, world.slot(days=10))
    renewal = app.request_renewal(citizen, ["M1"])
    referral = app.register_referral(citizen, "Ortopedia", "HSJ", "normal", *DOCTOR)
    clock.now = NOW + timedelta(days=2)
    world.deregister(citizen)
    assert app.slot(future.id).appointment_id is None
    cancelled = list(app.events.get(future.id))[-1]
    assert isinstance(cancelled, Slot.Cancelled) and cancelled.cancelled_by == "system"
    assert app.slot(past.id).citizen_id == citizen  # history is kept
    assert app.renewal(renewal.id).status == "cancelled"
    assert app.referral(referral.id).status == "cancelled"
    assert app.patient(citizen).deregistered


def test_a_granted_exemption_covers_the_citizen_until_it_expires(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen()
    exemption = world.exemption(citizen)
    assert app.patient(citizen).is_exempt(NOW.date())
    world.exemption_expired(citizen, exemption)
    assert not app.patient(citizen).is_exempt(NOW.date())


def test_a_denied_exemption_exempts_nobody(app: RequestsApplication, world: World) -> None:
    citizen = world.citizen()
    world.exemption(citizen, decision="denied")
    assert not app.patient(citizen).is_exempt(NOW.date())


def test_a_republished_event_changes_nothing(app: RequestsApplication, world: World) -> None:
    citizen = world.citizen()
    world.positions["identity", citizen] -= 1  # the relay publishes the same position again
    world.assign(citizen, "P-300", "USF Outra")
    assert app.patient(citizen).family_doctor == DOCTOR


def test_events_may_arrive_before_the_registration(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = uuid.uuid4()
    world.summary(citizen, "M1")
    assert app.patient(citizen).medications["M1"]["name"] == "drug M1"
