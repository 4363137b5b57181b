from datetime import UTC, datetime, timedelta

import pytest

from rse_identity.domain.account import (
    Account,
    AccountClosed,
    LoginPolicy,
    LoginThrottled,
)

POLICY = LoginPolicy(slow_after=3, lock_after=5, lock_for=timedelta(minutes=15))
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def an_account() -> Account:
    return Account(username="123456789", password_hash="h", role="citizen", claims={})


def fail(account: Account, times: int, start: datetime = T0, gap: float = 60.0) -> datetime:
    now = start
    for _ in range(times):
        account.check_may_attempt(now, POLICY)
        account.login_failed(now, POLICY)
        now += timedelta(seconds=gap)
    return now


def test_first_failures_do_not_slow_down() -> None:
    account = an_account()
    fail(account, 2, gap=0)
    account.check_may_attempt(T0, POLICY)


def test_from_the_third_failure_each_attempt_must_wait_longer() -> None:
    account = an_account()
    fail(account, 3, gap=0)
    with pytest.raises(LoginThrottled) as throttled:
        account.check_may_attempt(T0, POLICY)
    assert not throttled.value.locked
    assert throttled.value.retry_after == timedelta(seconds=1)
    account.check_may_attempt(T0 + timedelta(seconds=1), POLICY)


def test_the_fifth_failure_locks_the_account_for_a_while() -> None:
    account = an_account()
    now = fail(account, 5)
    with pytest.raises(LoginThrottled) as throttled:
        account.check_may_attempt(now, POLICY)
    assert throttled.value.locked
    account.check_may_attempt(now + timedelta(minutes=15), POLICY)


def test_a_success_clears_the_failures() -> None:
    account = an_account()
    fail(account, 2)
    account.login_succeeded()
    assert account.failures == 0


def test_a_closed_account_cannot_log_in() -> None:
    account = an_account()
    account.close()
    with pytest.raises(AccountClosed):
        account.check_may_attempt(T0, POLICY)
