"""The worker's timing rules, without a worker: when to claim again after a claim that
found its targets full or took everything due, when freed slots are worth a claim, and
when finished tries are worth a trip of their own."""

from __future__ import annotations

import pytest

from passeur.delivery.trip_timing import (
    GATHER,
    IDLE_LINGER,
    LINGER,
    REFILL,
    THROTTLED_WAIT,
    ClaimThrottle,
    Gather,
    Linger,
    Refill,
)


def test_a_claim_that_was_not_throttled_leaves_the_worker_free_to_claim() -> None:
    throttle = ClaimThrottle()
    assert throttle.may_claim(0.0) and not throttle.holding(0.0)
    throttle.claimed(running=8, throttled=False, now=1.0)
    assert throttle.may_claim(1.0)


def test_after_a_throttled_claim_one_finished_try_will_do_when_nothing_ran() -> None:
    throttle = ClaimThrottle()
    throttle.claimed(running=0, throttled=True, now=100.0)
    assert not throttle.may_claim(100.01)
    throttle.try_finished()
    assert throttle.may_claim(100.01)


def test_after_a_throttled_claim_half_of_the_tries_must_finish() -> None:
    throttle = ClaimThrottle()
    throttle.claimed(running=4, throttled=True, now=200.0)
    throttle.try_finished()
    assert not throttle.may_claim(200.01)
    throttle.try_finished()
    assert throttle.may_claim(200.01)


def test_the_window_ends_the_throttle_only_if_something_changed() -> None:
    throttle = ClaimThrottle()
    throttle.claimed(running=4, throttled=True, now=200.0)
    assert not throttle.may_claim(201.0)  # the window is over, but nothing changed
    throttle.saw_change()
    assert not throttle.may_claim(200.01)  # a change, acted on when the window is over
    assert throttle.may_claim(200.0 + THROTTLED_WAIT)


def test_a_new_claim_forgets_the_last_one() -> None:
    throttle = ClaimThrottle()
    throttle.claimed(running=4, throttled=True, now=200.0)
    throttle.try_finished()
    throttle.saw_change()
    throttle.claimed(running=4, throttled=True, now=300.0)
    assert throttle.finished == 0 and not throttle.changed
    assert not throttle.may_claim(300.0 + THROTTLED_WAIT)
    throttle.claimed(running=4, throttled=False, now=400.0)
    assert throttle.may_claim(400.0)


def test_a_change_is_noted_only_while_throttled() -> None:
    throttle = ClaimThrottle()
    throttle.saw_change()
    assert not throttle.changed
    assert throttle.before_sleep(0.0, change_pending=True) is False
    assert not throttle.changed


def test_a_pending_change_shortens_the_sleep_to_the_windows_end() -> None:
    throttle = ClaimThrottle()
    throttle.claimed(running=4, throttled=True, now=10.0)
    held = throttle.before_sleep(10.0, change_pending=False)
    assert held and throttle.wait(held, 10.0, longest=1.0) == 1.0  # nothing to act on
    held = throttle.before_sleep(10.01, change_pending=True)
    assert held and throttle.changed
    assert throttle.wait(held, 10.01, longest=1.0) == pytest.approx(THROTTLED_WAIT - 0.01)
    assert throttle.wait(held, 11.0, longest=1.0) == 0.0  # already over: no sleep
    assert throttle.wait(False, 10.01, longest=1.0) == 1.0  # not holding anything back


def due(
    *,
    waiting: int = 1,
    oldest: float = 10.0,
    failed: bool = False,
    running: int = 3,
    stopping: bool = False,
    now: float = 10.0,
) -> bool:
    """Whether a Linger of batch 4 records now; by default one delivered try, just done."""
    return Linger(batch=4).record_now(
        waiting=waiting, oldest=oldest, failed=failed, running=running, stopping=stopping, now=now
    )


def test_nothing_finished_is_never_worth_a_trip() -> None:
    assert not due(waiting=0, failed=True, running=0, stopping=True, now=99.0)


def test_a_delivered_try_lingers_for_company() -> None:
    assert not due()
    assert not due(waiting=3, now=10.0 + LINGER / 2)
    assert due(now=10.0 + LINGER)
    assert due(waiting=4)  # a batch's worth


def test_what_makes_recording_worth_a_trip_at_once() -> None:
    assert due(failed=True)  # a failed try holds its slot until recorded
    assert due(stopping=True)


def test_an_idle_worker_records_after_a_short_linger() -> None:
    """Nothing else runs: the try waits IDLE_LINGER for the next approvals' claim to
    share its trip, not LINGER for other tries that will not come."""
    assert IDLE_LINGER < LINGER
    assert not due(running=0, now=10.0 + IDLE_LINGER / 2)
    assert due(running=0, now=10.0 + IDLE_LINGER)


def test_the_sleep_ends_with_the_oldest_tries_linger() -> None:
    linger = Linger(batch=4)
    assert linger.wait(10.0, 10.0, longest=1.0, running=3) == pytest.approx(LINGER)
    assert linger.wait(10.0, 10.0, longest=1.0, running=0) == pytest.approx(IDLE_LINGER)
    assert linger.wait(10.0, 10.0, longest=0.001, running=3) == 0.001
    assert linger.wait(10.0, 11.0, longest=1.0, running=3) == 0.0


def test_after_a_claim_that_took_everything_due_the_next_one_gathers() -> None:
    gather = Gather()
    assert gather.may_claim(0.0)  # a worker that never claimed claims at once
    gather.claimed(took=1, limit=16, throttled=False, now=10.0)
    assert not gather.may_claim(10.0 + GATHER / 2)
    assert gather.may_claim(10.0 + GATHER)


def test_a_full_batch_or_a_throttled_claim_does_not_gather() -> None:
    gather = Gather()
    gather.claimed(took=16, limit=16, throttled=False, now=10.0)
    assert gather.may_claim(10.0)  # more may be due: claim again at once
    gather.claimed(took=3, limit=16, throttled=True, now=20.0)
    assert gather.may_claim(20.0)  # ClaimThrottle decides after a throttled claim


def test_while_gathering_the_loop_sleeps_until_the_window_ends_only_for_a_change() -> None:
    gather = Gather()
    gather.claimed(took=0, limit=16, throttled=False, now=10.0)
    assert gather.before_sleep(10.001, change_pending=False)
    assert gather.wait(10.001, longest=1.0) == 1.0  # nothing to claim for: no early wake-up
    assert gather.before_sleep(10.002, change_pending=True)
    assert gather.wait(10.002, longest=1.0) == pytest.approx(GATHER - 0.002)
    assert not gather.before_sleep(10.0 + GATHER, change_pending=True)  # over: claim
    assert gather.wait(10.0 + GATHER, longest=1.0) == 1.0


def test_an_idle_worker_or_one_with_most_slots_free_claims_at_once() -> None:
    refill = Refill(slots=32)
    assert refill.may_claim(32, 0.0)  # nothing in flight
    refill.claimed()
    assert refill.may_claim(24, 1.0)  # three quarters free
    assert not refill.holding(24, 1.0)


def test_below_half_the_slots_free_the_worker_does_not_claim() -> None:
    refill = Refill(slots=32)
    assert not refill.may_claim(15, 0.0)
    assert not refill.may_claim(15, 100.0)  # however long it waits
    assert not refill.holding(15, 100.0)  # a finished try wakes the loop, not a timer


def test_half_the_slots_free_wait_a_little_for_more_before_a_claim() -> None:
    refill = Refill(slots=32)
    assert not refill.may_claim(16, 10.0)  # half free since 10.0
    assert refill.holding(20, 10.001)  # still waiting for more
    assert refill.wait(10.001, longest=1.0) == pytest.approx(REFILL - 0.001)
    assert refill.may_claim(20, 10.0 + REFILL)  # waited long enough: claim for 20
    refill.claimed()
    assert not refill.may_claim(16, 20.0)  # a new wait starts after the claim
    assert refill.wait(20.0, longest=1.0) == pytest.approx(REFILL)


def test_falling_below_half_the_slots_free_restarts_the_wait() -> None:
    refill = Refill(slots=32)
    refill.may_claim(16, 10.0)
    refill.may_claim(8, 10.002)  # claimed elsewhere meanwhile (a record trip)
    assert not refill.may_claim(16, 10.0 + REFILL)  # half free again only since now
    assert refill.wait(10.0 + REFILL, longest=1.0) == pytest.approx(REFILL)


def test_a_worker_of_one_slot_claims_as_soon_as_it_is_free() -> None:
    refill = Refill(slots=1)
    assert refill.may_claim(1, 0.0) and not refill.may_claim(0, 0.0)
