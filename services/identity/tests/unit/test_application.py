import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from rse_identity.application import (
    CitizenAlreadyRegistered,
    IdentityApplication,
    PractitionerTaken,
    UsernameTaken,
    token_claims,
)
from rse_identity.domain.account import (
    AccountDeactivated,
    LoginRefused,
    LoginThrottled,
    TotpEnrolled,
)
from rse_identity.domain.citizen import Citizen
from rse_identity.published import to_integration_event
from rse_shared.contracts import PersonalDataRead
from rse_shared.testing import ManualClock

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


Clock = ManualClock  # the service's clock, set by the test


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(clock: Clock) -> IdentityApplication:
    return IdentityApplication(hasher=FAST_HASHER, clock=clock)


def register(
    app: IdentityApplication,
    sns: str = "123456789",
    nif: str = "123456789",
    activate: bool = True,
    password: str = "a long secret",
) -> object:
    """A citizen through the form and, unless told otherwise, activated at the counter."""
    citizen_id = app.register_citizen(
        sns_number=sns,
        nif=nif,
        full_name="Ana Silva",
        date_of_birth=date(1980, 5, 17),
        email="ana@example.pt",
        phone="+351912345678",
        address="Rua A",
        password=password,
    )
    if activate:
        app.activate_with_code(sns, app.issue_activation_code(citizen_id).code, None)
    return citizen_id


def test_registration_records_the_citizen_without_the_password(app: IdentityApplication) -> None:
    citizen_id = register(app)
    events = list(app.events.get(citizen_id))  # type: ignore[arg-type]
    assert isinstance(events[0], Citizen.Registered)
    stored = [n.state for n in app.recorder.select_notifications(1, 10)]
    assert all(b"a long secret" not in state for state in stored)


def test_a_second_registration_with_the_same_sns_number_conflicts(app: IdentityApplication) -> None:
    register(app)
    with pytest.raises(CitizenAlreadyRegistered):
        register(app, nif="501964843", activate=False)


def test_a_second_registration_with_the_same_nif_conflicts(app: IdentityApplication) -> None:
    register(app)
    saved = app.recorder.max_notification_id()
    with pytest.raises(CitizenAlreadyRegistered):
        register(app, sns="987654321", activate=False)
    assert app.recorder.max_notification_id() == saved  # nothing of the refused one was saved


def test_login_with_the_right_password_returns_the_account(app: IdentityApplication) -> None:
    citizen_id = register(app)
    account = app.authenticate("123456789", "a long secret")
    assert account.claims == {"citizen_id": str(citizen_id)}


def test_login_with_a_wrong_password_or_unknown_user_is_refused(app: IdentityApplication) -> None:
    register(app)
    with pytest.raises(LoginRefused):
        app.authenticate("123456789", "wrong")
    with pytest.raises(LoginRefused):
        app.authenticate("999999999", "whatever")


def test_repeated_failures_slow_down_then_lock(app: IdentityApplication, clock: Clock) -> None:
    register(app)
    for _ in range(3):
        with pytest.raises(LoginRefused):
            app.authenticate("123456789", "wrong")
    with pytest.raises(LoginThrottled):
        app.authenticate("123456789", "a long secret")
    for _ in range(2):
        clock.now += timedelta(seconds=10)
        with pytest.raises(LoginRefused):
            app.authenticate("123456789", "wrong")
    clock.now += timedelta(seconds=10)
    with pytest.raises(LoginThrottled) as locked:
        app.authenticate("123456789", "a long secret")
    assert locked.value.locked
    clock.now += timedelta(minutes=16)
    assert app.authenticate("123456789", "a long secret")


def enrolled(app: IdentityApplication) -> tuple[uuid.UUID, pyotp.TOTP]:
    """A registered citizen with TOTP confirmed by the previous step's code."""
    register(app)
    account = app.authenticate("123456789", "a long secret")
    totp = pyotp.parse_uri(app.start_totp_enrolment(account.id))
    app.confirm_totp(account.id, totp.at(time.time() - 30))
    return account.id, totp


def test_once_totp_is_enrolled_login_needs_a_code(app: IdentityApplication) -> None:
    _, totp = enrolled(app)
    with pytest.raises(LoginRefused):
        app.authenticate("123456789", "a long secret")
    assert app.authenticate("123456789", "a long secret", totp.now())


def test_a_totp_code_is_accepted_once(app: IdentityApplication) -> None:
    _, totp = enrolled(app)
    code = totp.now()
    assert app.authenticate("123456789", "a long secret", code)
    with pytest.raises(LoginRefused):
        app.authenticate("123456789", "a long secret", code)  # replayed


def test_the_confirming_code_cannot_log_in_and_no_older_code_either(
    app: IdentityApplication,
) -> None:
    _, totp = enrolled(app)
    for old in (totp.at(time.time() - 30), totp.at(time.time() - 60)):
        with pytest.raises(LoginRefused):
            app.authenticate("123456789", "a long secret", old)


def test_re_enrolment_needs_the_current_password_and_a_current_code(
    app: IdentityApplication, clock: Clock
) -> None:
    account_id, totp = enrolled(app)
    with pytest.raises(TotpEnrolled):
        app.start_totp_enrolment(account_id)  # a stolen session alone cannot replace it
    with pytest.raises(LoginRefused):
        app.start_totp_enrolment(account_id, "wrong password", totp.now())
    with pytest.raises(LoginRefused):
        app.start_totp_enrolment(account_id, "a long secret", "000000")
    clock.now += timedelta(seconds=2)  # three failures: the next attempt waits a second
    assert app.start_totp_enrolment(account_id, "a long secret", totp.now())


def test_an_unknown_username_is_counted_like_a_known_one(app: IdentityApplication) -> None:
    for _ in range(3):
        with pytest.raises(LoginRefused):
            app.authenticate("999999999", "whatever")
    with pytest.raises(LoginThrottled):
        app.authenticate("999999999", "whatever")


def test_one_account_per_practitioner_id(app: IdentityApplication) -> None:
    claims = {"role": "professional", "practitioner_id": "P-1", "health_unit": "USF A"}
    app.provision_staff(username="dr.one", password="x" * 12, **claims)  # type: ignore[arg-type]
    with pytest.raises(PractitionerTaken):
        app.provision_staff(username="dr.two", password="x" * 12, **claims)  # type: ignore[arg-type]
    with pytest.raises(UsernameTaken):
        app.provision_staff(username="dr.one", password="x" * 12, role="auditor")


def test_a_deactivated_professional_cannot_log_in_until_reactivated(
    app: IdentityApplication,
) -> None:
    app.provision_staff(username="dr.one", password="x" * 12, role="professional",
                        practitioner_id="P-1", health_unit="USF A")  # fmt: skip
    app.deactivate_staff("dr.one")
    with pytest.raises(AccountDeactivated):
        app.authenticate("staff:dr.one", "x" * 12)
    app.reactivate_staff("dr.one")
    assert app.authenticate("staff:dr.one", "x" * 12)


def test_a_password_change_needs_the_current_password(app: IdentityApplication) -> None:
    register(app)
    account = app.authenticate("123456789", "a long secret")
    with pytest.raises(LoginRefused):
        app.change_password(account.id, "not it", "a new long secret")
    app.change_password(account.id, "a long secret", "a new long secret")
    with pytest.raises(LoginRefused):
        app.authenticate("123456789", "a long secret")
    assert app.authenticate("123456789", "a new long secret")


def test_a_wrong_first_totp_code_does_not_enable_it(app: IdentityApplication) -> None:
    register(app)
    account = app.authenticate("123456789", "a long secret")
    app.start_totp_enrolment(account.id)
    with pytest.raises(LoginRefused):
        app.confirm_totp(account.id, "000000")
    assert app.authenticate("123456789", "a long secret")


def test_a_deregistered_citizen_cannot_log_in(app: IdentityApplication) -> None:
    citizen_id = register(app)
    app.deregister(citizen_id, "death", date(2026, 11, 1))  # type: ignore[arg-type]
    with pytest.raises(Exception, match="closed"):
        app.authenticate("123456789", "a long secret")


def test_staff_usernames_are_unique(app: IdentityApplication) -> None:
    app.provision_staff(
        username="dr.costa",
        password="x" * 12,
        role="professional",
        practitioner_id="P1",
        health_unit="USF A",
    )
    with pytest.raises(UsernameTaken):
        app.provision_staff(username="dr.costa", password="y" * 12, role="auditor")


def test_an_operators_read_is_saved_and_published_without_the_data_read(
    app: IdentityApplication, clock: Clock
) -> None:
    citizen_id = register(app)
    assert isinstance(citizen_id, uuid.UUID)
    read_id = app.record_personal_data_read(citizen_id, "op-1", "operator", "help line call")
    [recorded] = list(app.events.get(read_id))
    published = to_integration_event(recorded, position=7)
    assert isinstance(published, PersonalDataRead)
    assert published.citizen_id == citizen_id and published.read_id == read_id
    assert (published.actor_id, published.role, published.purpose) == (
        "op-1",
        "operator",
        "help line call",
    )
    assert published.read_at == clock() and "Ana" not in str(published.to_wire())


def test_hospital_staff_carry_the_hospital_they_work_for_in_their_token(
    app: IdentityApplication,
) -> None:
    app.provision_staff(
        username="hs.one", password="a long secret", role="hospital_staff", hospital="HSM"
    )
    claims = token_claims(app.authenticate("staff:hs.one", "a long secret"))
    assert (claims["role"], claims["hospital"]) == ("hospital_staff", "HSM")


def test_an_erased_citizens_numbers_register_again_as_a_new_citizen(
    app: IdentityApplication,
) -> None:
    """A wrongly registered citizen erased: the person the SNS number and NIF belong to
    registers and logs in; the erased one's password opens nothing; each number stays
    unique in its new generation, and a second erasure releases it again."""
    wrong = register(app)
    app.erase(wrong, "wrongly_registered", "ticket 1", "op-1")  # type: ignore[arg-type]
    with pytest.raises(LoginRefused):
        app.authenticate("123456789", "a long secret")
    rightful = register(app, password="her own secret")
    assert rightful != wrong
    assert app.authenticate("123456789", "her own secret").claims == {"citizen_id": str(rightful)}
    with pytest.raises(LoginRefused):
        app.authenticate("123456789", "a long secret")
    with pytest.raises(CitizenAlreadyRegistered):
        register(app, activate=False)  # the number is hers now
    app.erase(rightful, "legal_order", "order 7", "op-1")
    third = register(app)
    assert third not in (wrong, rightful)
    assert app.authenticate("123456789", "a long secret").claims == {"citizen_id": str(third)}
