"""The retry schedule and the policy that turns a classified error into the next state."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from passeur.domain.exports import ErrorClass, ExportState

# Close to what webhook senders use: quick retries first, then spread over a day.
DEFAULT_DELAYS: tuple[float, ...] = (
    0,
    5,
    300,
    1800,
    7200,
    18000,
    36000,
    50400,
    72000,
    86400,
)


@dataclass(frozen=True)
class RetrySchedule:
    """Delays (seconds) before try n+1 after try n failed; jitter spreads herds apart."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = 0.2  # +/- fraction of the delay

    @classmethod
    def parse(cls, text: str, jitter: float = 0.2) -> RetrySchedule:
        """Parse "0,5,300" (seconds) or "0,5s,5m,2h"; raise ValueError on nonsense."""
        delays = tuple(_seconds(part) for part in text.split(",") if part.strip())
        if not delays:
            raise ValueError("a retry schedule needs at least one delay")
        return cls(delays=delays, jitter=jitter)

    @property
    def max_attempts(self) -> int:
        """The first try plus one retry per delay."""
        return len(self.delays) + 1

    def delay_after(self, attempt: int, rng: random.Random | None = None) -> timedelta | None:
        """Delay before the next try once try number `attempt` (1-based) has failed.

        None means the schedule is exhausted.
        """
        if attempt < 1 or attempt > len(self.delays):
            return None
        base = self.delays[attempt - 1]
        spread = base * self.jitter
        value = base + (rng or random).uniform(-spread, spread) if spread else base
        return timedelta(seconds=max(0.0, value))


@dataclass(frozen=True)
class Decision:
    state: ExportState
    delay: timedelta | None = None  # when the export is due again, for RETRYING
    integration_needs_attention: bool = False
    integration_disconnected: bool = False
    reason: str = ""


def decide(
    error: ErrorClass,
    attempt: int,
    schedule: RetrySchedule,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """What happens to an export whose try number `attempt` ended with `error`."""
    if error in (ErrorClass.AUTH, ErrorClass.MISCONFIGURED):
        # Never hammer a target that refuses us: park until a person fixes it.
        return Decision(ExportState.NEEDS_ATTENTION, integration_needs_attention=True)
    if error is ErrorClass.GONE:
        # The endpoint is gone (Standard Webhooks: disable it); calling it again is pointless.
        return Decision(
            ExportState.FAILED,
            integration_disconnected=True,
            reason="the target is gone; the integration was disconnected",
        )
    if error is ErrorClass.REJECTED:
        return Decision(ExportState.FAILED, reason="rejected by the target")
    if error is ErrorClass.RATE_LIMITED and retry_after is not None:
        # The target said how long to wait; it does not count against the schedule's end.
        return Decision(ExportState.RETRYING, delay=timedelta(seconds=max(0.0, retry_after)))
    delay = schedule.delay_after(attempt, rng)
    if delay is None:
        return Decision(
            ExportState.FAILED, reason=f"gave up after {attempt} tries (retry schedule exhausted)"
        )
    return Decision(ExportState.RETRYING, delay=delay)


def _seconds(part: str) -> float:
    token = part.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    factor = 1
    if token and token[-1] in units:
        factor = units[token[-1]]
        token = token[:-1]
    try:
        value = float(token)
    except ValueError:
        raise ValueError(
            f"retry delay {part.strip()!r} is not a duration (e.g. 0, 5s, 5m, 2h, 1d)"
        ) from None
    if value < 0:
        raise ValueError(f"retry delay {part!r} is negative")
    return value * factor
