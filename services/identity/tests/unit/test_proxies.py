"""Proxy relationships on in-memory persistence: who may act for whom, and until when."""

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from rse_identity.application import IdentityApplication
from rse_identity.domain.proxy import NotYours, ProxyNotInForce, ProxyRefused, birthday
from rse_identity.published import to_integration_event
from rse_shared.contracts import ProxyAccepted, ProxyAppointed, ProxyEnded, ProxyEstablished
from rse_shared.proxy import SCOPES
from rse_shared.testing import ManualClock

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
_seeds = itertools.count(1)


def nif(seed: int) -> str:
    first8 = f"2{seed:07d}"
    total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return first8 + str(0 if check >= 10 else check)


@pytest.fixture
def clock() -> ManualClock[datetime]:
    return ManualClock(NOW)


@pytest.fixture
def app(clock: ManualClock[datetime]) -> IdentityApplication:
    return IdentityApplication(hasher=FAST_HASHER, clock=clock)


def citizen(app: IdentityApplication, born: date = date(1980, 5, 17)) -> uuid.UUID:
    seed = next(_seeds)
    return app.register_citizen(
        sns_number=f"3{seed:08d}",
        nif=nif(seed),
        full_name="Ana Silva",
        date_of_birth=born,
        email="ana@example.pt",
        phone="+351912345678",
        address="Rua A",
        password="a long secret",
    )


def child(app: IdentityApplication, years: int = 10) -> uuid.UUID:
    return citizen(app, born=date(NOW.year - years, 3, 2))


def caregiver_of(app: IdentityApplication, represented: uuid.UUID, proxy: uuid.UUID) -> uuid.UUID:
    return app.appoint_proxy(
        represented, proxy, "informal_caregiver", ("appointments",), None, str(represented)
    )


def test_an_operator_makes_a_parent_the_guardian_of_a_minor_until_their_18th_birthday(
    app: IdentityApplication,
) -> None:
    minor, parent = child(app), citizen(app)
    relationship_id = app.establish_guardianship(minor, parent, "operator-1", "CN 123/2016")
    relationship = app.acting_relationship(parent, minor)
    assert relationship.id == relationship_id
    assert relationship.scopes == SCOPES
    assert relationship.valid_until == date(NOW.year + 8, 3, 2)


def test_an_adult_cannot_be_given_a_guardian(app: IdentityApplication) -> None:
    adult, other = citizen(app), citizen(app)
    with pytest.raises(ProxyRefused, match="of age"):
        app.establish_guardianship(adult, other, "operator-1", "CN 1/2000")


def test_a_minor_cannot_be_anyone_s_guardian_or_proxy(app: IdentityApplication) -> None:
    minor, teenager, adult = child(app), child(app, 16), citizen(app)
    with pytest.raises(ProxyRefused, match="of age"):
        app.establish_guardianship(minor, teenager, "operator-1", "CN 2/2016")
    with pytest.raises(ProxyRefused, match="of age"):
        caregiver_of(app, adult, teenager)


def test_a_citizen_cannot_appoint_themselves(app: IdentityApplication) -> None:
    someone = citizen(app)
    with pytest.raises(ProxyRefused, match="themselves"):
        caregiver_of(app, someone, someone)


def test_a_proxy_who_is_represented_themselves_is_refused_no_chains(
    app: IdentityApplication,
) -> None:
    elderly, daughter, grandson = citizen(app), citizen(app), citizen(app)
    caregiver_of(app, daughter, grandson)  # the daughter is represented by her son
    with pytest.raises(ProxyRefused, match="no chains"):
        caregiver_of(app, elderly, daughter)


def test_a_citizen_who_acts_for_others_cannot_be_represented(app: IdentityApplication) -> None:
    elderly, daughter, grandson = citizen(app), citizen(app), citizen(app)
    caregiver_of(app, elderly, daughter)
    with pytest.raises(ProxyRefused, match="no chains"):
        caregiver_of(app, daughter, grandson)


def test_a_cycle_is_refused(app: IdentityApplication) -> None:
    one, other = citizen(app), citizen(app)
    caregiver_of(app, one, other)
    with pytest.raises(ProxyRefused):
        caregiver_of(app, other, one)


def test_an_appointed_caregiver_acts_only_once_they_accept(app: IdentityApplication) -> None:
    elderly, neighbour = citizen(app), citizen(app)
    relationship_id = caregiver_of(app, elderly, neighbour)
    with pytest.raises(ProxyNotInForce):
        app.acting_relationship(neighbour, elderly)
    with pytest.raises(NotYours):
        app.accept_proxy(relationship_id, elderly)
    app.accept_proxy(relationship_id, neighbour)
    assert app.acting_relationship(neighbour, elderly).scopes == ("appointments",)
    assert not app.relationship_ended(relationship_id)


def test_the_represented_citizen_revokes_and_the_relationship_is_over_everywhere(
    app: IdentityApplication,
) -> None:
    elderly, neighbour, stranger = citizen(app), citizen(app), citizen(app)
    relationship_id = caregiver_of(app, elderly, neighbour)
    app.accept_proxy(relationship_id, neighbour)
    with pytest.raises(NotYours):
        app.revoke_proxy(relationship_id, str(stranger), stranger)
    app.revoke_proxy(relationship_id, str(elderly), elderly)
    assert app.relationship_ended(relationship_id)
    with pytest.raises(ProxyNotInForce):
        app.acting_relationship(neighbour, elderly)
    caregiver_of(app, elderly, neighbour)  # once revoked, a new appointment is possible


def test_a_guardianship_ends_by_itself_on_the_18th_birthday_and_says_why(
    app: IdentityApplication, clock: ManualClock[datetime]
) -> None:
    minor, parent = child(app, 17), citizen(app)
    relationship_id = app.establish_guardianship(minor, parent, "operator-1", "CN 9/2009")
    assert not app.end_proxy_if_due(relationship_id)
    clock.now = datetime.combine(birthday(date(NOW.year - 17, 3, 2), 18), datetime.min.time(), UTC)
    assert app.relationship_ended(relationship_id)  # refused at once, before the sweep
    assert app.end_proxy_if_due(relationship_id)
    assert not app.end_proxy_if_due(relationship_id)  # a second sweep does nothing
    ended = [e for e in published(app) if isinstance(e, ProxyEnded)]
    assert [(e.reason, e.citizen_id, e.proxy_id) for e in ended] == [("came of age", minor, parent)]


def test_a_minor_sees_who_acts_for_them_from_16(
    app: IdentityApplication, clock: ManualClock[datetime]
) -> None:
    minor = citizen(app, born=date(NOW.year - 16, NOW.month, NOW.day) + timedelta(days=1))
    assert not app.sees_own_proxies(minor)
    clock.advance(timedelta(days=1))
    assert app.sees_own_proxies(minor)


def test_the_relationship_events_name_the_represented_citizen_and_the_proxy(
    app: IdentityApplication,
) -> None:
    minor, parent, elderly, neighbour = child(app), citizen(app), citizen(app), citizen(app)
    app.establish_guardianship(minor, parent, "operator-1", "CN 5/2016")
    relationship_id = caregiver_of(app, elderly, neighbour)
    app.accept_proxy(relationship_id, neighbour)
    events = [e for e in published(app) if e.event_type.startswith("Proxy")]
    assert [type(e) for e in events] == [ProxyEstablished, ProxyAppointed, ProxyAccepted]
    established, appointed, accepted = events
    assert isinstance(established, ProxyEstablished)
    assert (established.citizen_id, established.proxy_id) == (minor, parent)
    assert established.documents == "CN 5/2016"
    assert isinstance(appointed, ProxyAppointed)
    assert (appointed.citizen_id, appointed.scopes) == (elderly, ("appointments",))
    assert accepted.citizen_id == elderly


def published(app: IdentityApplication) -> list[object]:
    """What the relay would publish from the application's log, in order."""
    notifications = app.recorder.select_notifications(1, 10_000)
    events = (app.mapper.to_domain_event(n) for n in notifications)
    translated = (to_integration_event(e, i) for i, e in enumerate(events, start=1))
    return [e for e in translated if e is not None]


def test_a_deregistered_guardian_s_relationships_all_end_and_the_wards_are_free(
    app: IdentityApplication,
) -> None:
    first, second, parent, other = child(app), child(app, 12), citizen(app), citizen(app)
    one = app.establish_guardianship(first, parent, "operator-1", "CN 7/2016")
    two = app.establish_guardianship(second, parent, "operator-1", "CN 8/2014")
    app.deregister(parent, "death", NOW.date())
    assert app.relationship_ended(one) and app.relationship_ended(two)
    ended = [e for e in published(app) if isinstance(e, ProxyEnded)]
    assert {(e.relationship_id, e.reason) for e in ended} == {
        (one, "citizen deregistered"),
        (two, "citizen deregistered"),
    }
    app.establish_guardianship(first, other, "operator-1", "CN 9/2016")  # rosters freed
