import random
from datetime import timedelta

import pytest

from passeur.domain.exports import ErrorClass, ExportState
from passeur.domain.retries import DEFAULT_DELAYS, RetrySchedule, decide


def test_default_schedule_spreads_over_a_day() -> None:
    schedule = RetrySchedule(jitter=0)
    delays = [schedule.delay_after(n) for n in range(1, schedule.max_attempts)]
    assert [d.total_seconds() for d in delays if d is not None] == list(DEFAULT_DELAYS)
    assert schedule.delay_after(schedule.max_attempts) is None
    assert schedule.max_attempts == 11


def test_jitter_stays_within_its_fraction() -> None:
    schedule = RetrySchedule(delays=(100.0,), jitter=0.2)
    rng = random.Random(7)
    seen = {schedule.delay_after(1, rng).total_seconds() for _ in range(200)}  # type: ignore[union-attr]
    assert min(seen) >= 80 and max(seen) <= 120
    assert len(seen) > 50  # really spread, not one value


def test_parse_accepts_units_and_refuses_nonsense() -> None:
    assert RetrySchedule.parse("0,5s,5m,2h,1d").delays == (0, 5, 300, 7200, 86400)
    for bad in ("", "a,b", "5,-1"):
        with pytest.raises(ValueError):
            RetrySchedule.parse(bad)


def test_transient_errors_back_off_then_fail() -> None:
    schedule = RetrySchedule(delays=(0, 5), jitter=0)
    first = decide(ErrorClass.TRANSIENT, 1, schedule)
    assert first.state is ExportState.RETRYING and first.delay == timedelta(0)
    assert decide(ErrorClass.TRANSIENT, 2, schedule).delay == timedelta(seconds=5)
    last = decide(ErrorClass.TRANSIENT, 3, schedule)
    assert last.state is ExportState.FAILED and "exhausted" in last.reason


def test_rate_limits_wait_exactly_what_the_target_asked() -> None:
    decision = decide(ErrorClass.RATE_LIMITED, 9, RetrySchedule(delays=(1,)), retry_after=42)
    assert decision.state is ExportState.RETRYING
    assert decision.delay == timedelta(seconds=42)


@pytest.mark.parametrize("error", [ErrorClass.AUTH, ErrorClass.MISCONFIGURED])
def test_auth_and_configuration_errors_park_the_integration(error: ErrorClass) -> None:
    decision = decide(error, 1, RetrySchedule())
    assert decision.state is ExportState.NEEDS_ATTENTION
    assert decision.integration_needs_attention


def test_rejections_fail_at_once() -> None:
    decision = decide(ErrorClass.REJECTED, 1, RetrySchedule())
    assert decision.state is ExportState.FAILED and not decision.integration_needs_attention


def test_a_gone_target_fails_the_export_and_disconnects_the_integration() -> None:
    decision = decide(ErrorClass.GONE, 1, RetrySchedule())
    assert decision.state is ExportState.FAILED
    assert decision.integration_disconnected and not decision.integration_needs_attention
    assert "disconnected" in decision.reason
    assert decide(ErrorClass.GONE, 1, RetrySchedule(), retry_after=30).state is ExportState.FAILED


@pytest.mark.parametrize("error", list(ErrorClass))
def test_only_gone_disconnects(error: ErrorClass) -> None:
    decision = decide(error, 1, RetrySchedule())
    assert decision.integration_disconnected is (error is ErrorClass.GONE)
