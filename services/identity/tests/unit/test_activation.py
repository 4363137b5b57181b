"""Counter activation and the provider's path, on identity's application (in memory)."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from rse_identity.application import IdentityApplication, token_claims
from rse_identity.domain.account import LoginRefused
from rse_identity.domain.activation import ActivationRefused, ActivationThrottled, AlreadyActivated
from rse_identity.domain.citizen import Citizen
from rse_identity.domain.oidc_login import OidcLoginRefused
from rse_identity.published import to_integration_event
from rse_identity.registration import (
    CitizenAlreadyRegistered,
    IdentityMismatch,
    ProvenIdentity,
)
from rse_shared.contracts import CitizenActivated
from rse_shared.testing import ManualClock

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SNS, NIF = "123456789", "123456789"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(clock: ManualClock) -> IdentityApplication:
    return IdentityApplication(hasher=FAST_HASHER, clock=clock)


def register(app: IdentityApplication, sns: str = SNS, nif: str = NIF) -> uuid.UUID:
    return app.register_citizen(
        sns_number=sns,
        nif=nif,
        full_name="Ana Silva",
        date_of_birth=date(1980, 5, 17),
        email="ana@example.pt",
        phone="+351912345678",
        address="Rua A",
        password="a long secret",
    )


def proven(sns: str = SNS, nif: str = NIF) -> ProvenIdentity:
    return ProvenIdentity(sns, nif, "Ana Silva", date(1980, 5, 17), "ana@example.pt")


def test_a_citizen_registered_through_the_form_cannot_log_in_before_activation(
    app: IdentityApplication,
) -> None:
    register(app)
    with pytest.raises(LoginRefused) as not_active:
        app.authenticate(SNS, "a long secret")
    with pytest.raises(LoginRefused) as wrong:
        app.authenticate("987654321", "a long secret")
    assert str(not_active.value) == str(wrong.value)  # no oracle: told as a wrong password


def test_the_counter_code_activates_once_and_opens_the_login(app: IdentityApplication) -> None:
    citizen_id = register(app)
    code = app.issue_activation_code(citizen_id).code
    assert app.activate_with_code(SNS, code, None) == citizen_id
    assert token_claims(app.authenticate(SNS, "a long secret"))["citizen_id"] == str(citizen_id)
    with pytest.raises(ActivationRefused):
        app.activate_with_code(SNS, code, None)  # single use
    with pytest.raises(AlreadyActivated):
        app.issue_activation_code(citizen_id)


def test_the_code_is_stored_only_as_a_hash(app: IdentityApplication) -> None:
    code = app.issue_activation_code(register(app)).code
    stored = b"".join(n.state for n in app.recorder.select_notifications(1, 100))
    assert code.encode() not in stored


def test_a_new_password_may_be_chosen_at_activation(app: IdentityApplication) -> None:
    code = app.issue_activation_code(register(app)).code
    app.activate_with_code(SNS, code, "another long secret")
    with pytest.raises(LoginRefused):
        app.authenticate(SNS, "a long secret")
    assert app.authenticate(SNS, "another long secret")


def test_an_expired_code_is_refused(app: IdentityApplication, clock: ManualClock) -> None:
    code = app.issue_activation_code(register(app)).code
    clock.now += timedelta(minutes=15, seconds=1)
    with pytest.raises(ActivationRefused):
        app.activate_with_code(SNS, code, None)


def test_five_wrong_guesses_burn_the_code(app: IdentityApplication) -> None:
    code = app.issue_activation_code(register(app)).code
    for _ in range(5):
        with pytest.raises(ActivationRefused):
            app.activate_with_code(SNS, "WRONGCODE2", None)
    with pytest.raises(ActivationRefused):
        app.activate_with_code(SNS, code, None)  # the right one, too late


def test_at_most_five_codes_a_day_per_citizen(app: IdentityApplication, clock: ManualClock) -> None:
    citizen_id = register(app)
    for _ in range(5):
        app.issue_activation_code(citizen_id)
        clock.now += timedelta(hours=1)
    with pytest.raises(ActivationThrottled) as throttled:
        app.issue_activation_code(citizen_id)
    assert throttled.value.retry_after == timedelta(hours=19)
    clock.now += timedelta(hours=19)
    assert app.issue_activation_code(citizen_id).code


def test_a_new_code_replaces_the_previous_one(app: IdentityApplication) -> None:
    citizen_id = register(app)
    first = app.issue_activation_code(citizen_id).code
    second = app.issue_activation_code(citizen_id).code
    with pytest.raises(ActivationRefused):
        app.activate_with_code(SNS, first, None)
    app.activate_with_code(SNS, second, None)


def test_an_unknown_sns_number_is_refused_like_a_wrong_code(app: IdentityApplication) -> None:
    with pytest.raises(ActivationRefused, match="activation refused"):
        app.activate_with_code("987654321", "ABCDEFGHJK", None)


def test_activation_is_published_with_its_method(app: IdentityApplication) -> None:
    citizen_id = register(app)
    app.activate_with_code(SNS, app.issue_activation_code(citizen_id).code, None)
    activated = [e for e in app.events.get(citizen_id) if isinstance(e, Citizen.Activated)]
    published = to_integration_event(activated[0], position=3)
    assert isinstance(published, CitizenActivated) and published.method == "counter"


def test_the_provider_registers_a_new_citizen_activated(app: IdentityApplication) -> None:
    account = app.register_or_find_proven(proven())
    citizen_id = uuid.UUID(account.claims["citizen_id"])
    citizen = app.repository.get(citizen_id)
    assert isinstance(citizen, Citizen) and citizen.activated == "oidc"
    assert app.register_or_find_proven(proven()).id == account.id  # found the second time
    with pytest.raises(LoginRefused):
        app.authenticate(SNS, "")  # no password at all was set through the provider
    with pytest.raises(CitizenAlreadyRegistered):
        register(app, nif="501964843")  # the SNS number is taken


def test_the_provider_activates_a_citizen_registered_through_the_form(
    app: IdentityApplication,
) -> None:
    citizen_id = register(app)
    account = app.register_or_find_proven(proven())
    assert account.claims["citizen_id"] == str(citizen_id)
    assert app.authenticate(SNS, "a long secret")  # the form's password now opens it


def test_the_provider_naming_another_nif_for_an_sns_number_is_refused(
    app: IdentityApplication,
) -> None:
    register(app)
    with pytest.raises(IdentityMismatch):
        app.register_or_find_proven(proven(nif="501964843"))


def test_an_oidc_state_answers_one_callback_and_expires(
    app: IdentityApplication, clock: ManualClock
) -> None:
    app.start_oidc_login("state-1", "nonce", "verifier", clock() + timedelta(minutes=10))
    assert app.use_oidc_login("state-1").nonce == "nonce"
    with pytest.raises(OidcLoginRefused):
        app.use_oidc_login("state-1")  # replayed
    with pytest.raises(OidcLoginRefused):
        app.use_oidc_login("never-issued")
    app.start_oidc_login("state-2", "nonce", "verifier", clock() + timedelta(minutes=10))
    clock.now += timedelta(minutes=10)
    with pytest.raises(OidcLoginRefused):
        app.use_oidc_login("state-2")


def test_every_refused_activation_is_told_alike(app: IdentityApplication) -> None:
    app.register_or_find_proven(proven())  # activated, no code pending
    citizen_id = register(app, sns="987654321", nif="501964843")
    app.issue_activation_code(citizen_id)
    refusals = []
    for sns in (SNS, "987654321", "111111111"):
        with pytest.raises(ActivationRefused) as refused:
            app.activate_with_code(sns, "WRONGCODE2", None)
        refusals.append(str(refused.value))
    assert refusals == ["activation refused"] * 3
