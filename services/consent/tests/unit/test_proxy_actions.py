"""What proxies did for a citizen reaches the citizen's history; their grants are the
citizen's consents, marked as given by the proxy; ended relationships are kept."""

import uuid
from datetime import UTC, datetime

from rse_consent.application import ConsentApplication
from rse_consent.domain.consent import Consent, Grantee
from rse_consent.domain.proxy_action import ProxyAction
from rse_shared.acting import Acting, act_as
from rse_shared.contracts import AppointmentBooked, ProxyActor, ProxyRevoked
from rse_shared.proxy import acting_of
from rse_shared.testing import ManualClock, feed

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CHILD, PARENT, RELATIONSHIP = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def envelope(producer: str, position: int = 1) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": NOW,
        "producer": producer,
        "citizen_id": CHILD,
        "source_position": position,
    }


def booking(proxy: ProxyActor | None) -> AppointmentBooked:
    return AppointmentBooked(
        **envelope("requests"),
        appointment_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        practitioner_id="P-1",
        health_unit="USF Tejo",
        starts_at=NOW,
        proxy=proxy,
    )


def test_a_booking_by_a_guardian_is_recorded_once_naming_both() -> None:
    app = ConsentApplication(clock=ManualClock(NOW))
    proxy = ProxyActor(actor_id=str(PARENT), relationship_id=RELATIONSHIP, kind="legal_guardian")
    booked = booking(proxy)
    feed(app, booked)
    feed(app, booked.model_copy(update={"source_position": 2}))  # re-published: still once
    feed(app, booking(None).model_copy(update={"source_position": 3}))  # the child's own
    action = app.repository.get(ProxyAction.create_id(booked.event_id))
    assert (action.citizen_id, action.actor_id) == (CHILD, str(PARENT))
    stored = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 100)]
    recorded = [e for e in stored if isinstance(e, ProxyAction.Recorded)]
    assert len(recorded) == 1
    assert recorded[0].entries[0] == {"id": str(booked.appointment_id), "kind": "appointment"}


def test_a_consent_granted_through_a_proxy_is_the_citizen_s_marked_given_by_the_proxy() -> None:
    app = ConsentApplication(clock=ManualClock(NOW))
    act_as(Acting(str(PARENT), str(RELATIONSHIP), "legal_guardian"))
    try:
        consent = app.grant(CHILD, Grantee("all_sns"), ["vaccinations"])
    finally:
        act_as(None)
    assert consent.citizen_id == CHILD and consent.given_by == str(PARENT)
    [granted] = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10)]
    assert isinstance(granted, Consent.Granted)
    assert acting_of(granted) == {
        "actor_id": str(PARENT),
        "relationship_id": str(RELATIONSHIP),
        "kind": "legal_guardian",
    }


def test_every_consumer_keeps_the_relationships_identity_ended() -> None:
    app = ConsentApplication(clock=ManualClock(NOW))
    assert not app.relationship_ended(RELATIONSHIP)
    feed(
        app,
        ProxyRevoked(
            **envelope("identity"),
            relationship_id=RELATIONSHIP,
            proxy_id=PARENT,
            revoked_by=str(CHILD),
            revoked_at=NOW,
        ),
    )
    assert app.relationship_ended(RELATIONSHIP)
    assert not app.relationship_ended(uuid.uuid4())
