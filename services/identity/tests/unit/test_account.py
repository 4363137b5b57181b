from datetime import UTC, datetime, timedelta

import pytest

from rse_identity.domain.account import Account, AccountClosed, AccountDeactivated, NotStaff

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def an_account(role: str = "citizen") -> Account:
    return Account(username="123456789", password_hash="h", role=role, claims={})  # type: ignore[arg-type]


def test_a_closed_account_cannot_log_in() -> None:
    account = an_account()
    account.close()
    with pytest.raises(AccountClosed):
        account.check_may_log_in()


def test_a_deactivated_staff_account_cannot_log_in_until_reactivated() -> None:
    account = an_account("professional")
    account.deactivate(T0, timedelta(minutes=5))
    with pytest.raises(AccountDeactivated):
        account.check_may_log_in()
    account.reactivate(T0 + timedelta(hours=1))
    account.check_may_log_in()


def test_a_deactivation_says_until_when_the_tokens_before_it_may_live() -> None:
    account = an_account("operator")
    account.deactivate(T0, timedelta(minutes=5))
    account.deactivate(T0 + timedelta(minutes=1), timedelta(minutes=5))  # changes nothing
    [deactivated] = [e for e in account.collect_events() if isinstance(e, Account.Deactivated)]
    assert (deactivated.at, deactivated.tokens_expire_by) == (T0, T0 + timedelta(minutes=5))


def test_citizens_are_deregistered_not_deactivated() -> None:
    with pytest.raises(NotStaff):
        an_account().deactivate(T0, timedelta(minutes=5))


def test_the_last_totp_step_used_is_kept() -> None:
    account = an_account()
    account.use_totp_step(1000)
    assert account.totp_last_step == 1000
