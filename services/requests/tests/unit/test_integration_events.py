"""The integration events requests publishes, translated from its domain events."""

from datetime import timedelta

from rse_requests.application import RequestsApplication
from rse_requests.published import to_integration_event
from rse_shared.contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    IntegrationEvent,
    MedicationRenewalDecided,
    MedicationRenewalRequested,
    ReferralRegistered,
    ReferralStatusChanged,
)

from .conftest import DOCTOR, NOW, Clock, World


def published(app: RequestsApplication) -> list[IntegrationEvent]:
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    events = (to_integration_event(app.mapper.to_domain_event(n), n.id) for n in notifications)
    return [e for e in events if e is not None]


def test_every_request_is_published_keyed_by_its_citizen(
    app: RequestsApplication,
    world: World,
    clock: Clock,
) -> None:
    citizen = world.citizen(medications=("M1",))
    booked = app.book(citizen, world.slot())
    app.cancel_appointment(citizen, booked.appointment_id, "ill")  # type: ignore[arg-type]
    renewal = app.request_renewal(citizen, ["M1"])
    app.approve_renewal(DOCTOR[0], renewal.id, {"M1": 3}, NOW.date() + timedelta(days=180))
    referral = app.register_referral(citizen, "Cardiologia", "HSM", "very_urgent", *DOCTOR)
    clock.now = NOW + timedelta(days=31)
    app.flag_breach_if_due(referral.id)
    events = published(app)
    assert [type(e) for e in events] == [
        AppointmentBooked,
        AppointmentCancelled,
        MedicationRenewalRequested,
        MedicationRenewalDecided,
        ReferralRegistered,
        ReferralStatusChanged,
    ]
    assert {e.citizen_id for e in events} == {citizen}
    decided = events[3]
    assert isinstance(decided, MedicationRenewalDecided)
    assert decided.items[0].packs == 3 and decided.practitioner_id == DOCTOR[0]
    breach = events[-1]
    assert isinstance(breach, ReferralStatusChanged) and breach.status == "tmrg_breached"


def test_a_republished_event_keeps_its_event_id(
    app: RequestsApplication,
    world: World,
) -> None:
    citizen = world.citizen()
    app.book(citizen, world.slot())
    assert [e.event_id for e in published(app)] == [e.event_id for e in published(app)]
