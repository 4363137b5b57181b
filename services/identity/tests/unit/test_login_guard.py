import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from rse_identity.domain.account import LoginThrottled
from rse_identity.login_guard import (
    HashGate,
    HashingBusy,
    LoginPolicy,
    MemoryFailures,
    RateLimit,
    RateLimited,
)

POLICY = LoginPolicy(slow_after=3, lock_after=5, lock_for=timedelta(minutes=15))
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def fail(counter: MemoryFailures, times: int, start: datetime = T0, gap: float = 60.0) -> datetime:
    now = start
    for _ in range(times):
        counter.reserve("ana", now)
        now += timedelta(seconds=gap)
    return now


def test_first_failures_do_not_slow_down() -> None:
    counter = MemoryFailures(POLICY)
    fail(counter, 2, gap=0)
    counter.reserve("ana", T0)


def test_from_the_third_failure_each_attempt_must_wait_longer() -> None:
    counter = MemoryFailures(POLICY)
    fail(counter, 3, gap=0)
    with pytest.raises(LoginThrottled) as throttled:
        counter.reserve("ana", T0)
    assert not throttled.value.locked
    assert throttled.value.retry_after == timedelta(seconds=1)
    counter.reserve("ana", T0 + timedelta(seconds=1))


def test_the_fifth_failure_locks_the_account_for_a_while() -> None:
    counter = MemoryFailures(POLICY)
    now = fail(counter, 5)
    with pytest.raises(LoginThrottled) as throttled:
        counter.reserve("ana", now)
    assert throttled.value.locked
    counter.reserve("ana", T0 + timedelta(minutes=4, seconds=1) + timedelta(minutes=15))


def test_each_lockout_lasts_twice_the_one_before_up_to_the_cap() -> None:
    policy = LoginPolicy(slow_after=5, lock_after=5, lock_for=timedelta(minutes=15),
                         max_lock=timedelta(minutes=40))  # fmt: skip
    assert [policy.wait_after(5, n) / 60 for n in range(4)] == [15, 30, 40, 40]


def test_a_success_clears_the_failures() -> None:
    counter = MemoryFailures(POLICY)
    fail(counter, 3, gap=0)
    counter.clear("ana")
    fail(counter, 2, gap=0)  # no wait: counting starts over


def test_a_rate_limit_refuses_beyond_its_window_and_says_when() -> None:
    now = [0.0]
    limit = RateLimit(2, per=60, clock=lambda: now[0])
    limit.hit("10.0.0.1")
    limit.hit("10.0.0.1")
    limit.hit("10.0.0.2")
    with pytest.raises(RateLimited) as limited:
        limit.hit("10.0.0.1")
    assert limited.value.retry_after == timedelta(seconds=60)
    now[0] = 60.0
    limit.hit("10.0.0.1")


async def test_the_hash_gate_lets_a_bounded_number_through_and_refuses_after_the_wait() -> None:
    gate = HashGate(2, wait=0.05)
    inside = 0
    most = 0

    async def hash_once() -> str:
        nonlocal inside, most
        try:
            async with gate.slot():
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.2)
                inside -= 1
                return "hashed"
        except HashingBusy:
            return "busy"

    outcomes = await asyncio.gather(*(hash_once() for _ in range(6)))
    assert most == 2
    assert sorted(outcomes) == ["busy"] * 4 + ["hashed"] * 2
