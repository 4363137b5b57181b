"""Retention: identity erases what its settings keep no longer, checked on the aggregate."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from rse_identity.application import IdentityApplication
from rse_identity.retention import RetentionPolicy
from rse_shared.erasure import CitizenErasure
from rse_shared.testing import ManualClock

from .test_application import FAST_HASHER, register

LATER = timedelta(days=400)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def app(clock: ManualClock) -> IdentityApplication:
    policy = RetentionPolicy(deregistered=timedelta(days=3650), unactivated=timedelta(days=90))
    return IdentityApplication(hasher=FAST_HASHER, clock=clock, retention=policy)


def erased(app: IdentityApplication, citizen_id: object) -> bool:
    assert isinstance(citizen_id, uuid.UUID)
    return CitizenErasure.create_id(citizen_id) in {
        n.originator_id for n in app.recorder.select_notifications(1, 1000)
    }


def test_a_registration_never_activated_is_erased_after_its_period(
    app: IdentityApplication, clock: ManualClock
) -> None:
    waiting = register(app, activate=False)
    assert isinstance(waiting, uuid.UUID)
    assert not app.erase_if_retention_ended(waiting)  # not yet
    clock.advance(timedelta(days=91))
    assert app.erase_if_retention_ended(waiting)
    assert erased(app, waiting)
    assert not app.erase_if_retention_ended(waiting)  # once


def test_an_activated_citizen_is_kept(app: IdentityApplication, clock: ManualClock) -> None:
    citizen = register(app)
    clock.advance(LATER)
    assert isinstance(citizen, uuid.UUID)
    assert not app.erase_if_retention_ended(citizen)
    assert not erased(app, citizen)


def test_a_deregistered_citizen_is_erased_ten_years_after_the_effective_date(
    app: IdentityApplication, clock: ManualClock
) -> None:
    citizen = register(app)
    assert isinstance(citizen, uuid.UUID)
    app.deregister(citizen, "death", date.today())
    clock.advance(timedelta(days=3650 - 1))
    assert not app.erase_if_retention_ended(citizen)
    clock.advance(timedelta(days=2))
    assert app.erase_if_retention_ended(citizen)
    assert erased(app, citizen)
