"""When the worker's loop goes to the database again: its two timing rules, apart from
the loop so that each can be read and tested on its own (times are the event loop's
clock, in seconds).

- `ClaimThrottle`: after a claim that left due exports behind because their targets
  were full, claiming again on every finished try would find them full again, in a trip
  each. Claim again once half of our tries have finished (their room comes back to us),
  or, if anything changed meanwhile (room another worker freed), once a short window is
  over.
- `Linger`: a delivered try may wait a little for others to share its commit (a group
  commit), unless something makes recording it now worth a trip.
- `Gather`: after a claim that found fewer due exports than it could take, the next
  claim waits a few milliseconds, so that approvals arriving one by one share a trip.
"""

from __future__ import annotations

from dataclasses import dataclass

THROTTLED_WAIT = 0.05  # the window after a throttled claim
LINGER = 0.05  # how long a delivered try may wait for others to share its commit
IDLE_LINGER = 0.01  # the same, once nothing else runs: the next approvals' claim takes it
GATHER = 0.005  # after a claim that emptied the queue, how long the next one waits
REFILL = 0.004  # how long half the slots wait free for more to free up before a claim


@dataclass
class ClaimThrottle:
    """Whether the worker may claim, after its last claim found its targets full or not."""

    since: float | None = None  # when the throttled claim was made; None: not throttled
    waiting_for: int = 0  # our own finished tries that give their room back
    finished: int = 0  # our tries finished since the last claim
    changed: bool = False  # a wake-up or a finished try came since the throttled claim

    @property
    def active(self) -> bool:
        return self.since is not None

    def claimed(self, running: int, throttled: bool, now: float) -> None:
        """A claim was made; `running` tries are in flight with the ones it took."""
        self.finished = 0
        self.changed = False
        self.since = now if throttled else None
        self.waiting_for = max(1, running // 2) if throttled else 0

    def try_finished(self) -> None:
        self.finished += 1

    def may_claim(self, now: float) -> bool:
        """Claim again once half of our tries have finished, or once the window is over
        if anything changed meanwhile."""
        if self.since is None or self.finished >= self.waiting_for:
            return True
        return self.changed and now - self.since >= THROTTLED_WAIT

    def holding(self, now: float) -> bool:
        """Throttled, and not free to claim yet."""
        return self.active and not self.may_claim(now)

    def before_sleep(self, now: float, change_pending: bool) -> bool:
        """Whether this rule holds claims back while the loop sleeps; a change already
        pending is noted, to be acted on when the window is over."""
        held = self.holding(now)
        if held and change_pending:
            self.changed = True
        return held

    def saw_change(self) -> None:
        """Something changed that may have freed room: acted on when the window is over."""
        if self.active:
            self.changed = True

    def wait(self, held: bool, now: float, longest: float) -> float:
        """How long the loop may sleep at most, for this rule: until the window is over
        when it `held` claims back and a change waits for the window, else `longest`."""
        if not held or not self.changed or self.since is None:
            return longest
        return max(0.0, min(longest, self.since + THROTTLED_WAIT - now))


@dataclass(frozen=True)
class Linger:
    """Whether finished tries should be recorded now, without waiting for a claim."""

    batch: int  # this many finished tries are worth a trip of their own

    def record_now(
        self,
        *,
        waiting: int,
        oldest: float,
        failed: bool,
        running: int,
        stopping: bool,
        now: float,
    ) -> bool:
        """`waiting` finished tries, the oldest finished at `oldest`; `failed` if one of
        them failed (it holds its slot until recorded, so that a target that refused us
        is parked before the next call); `running` tries still in flight."""
        if not waiting:
            return False
        if stopping or waiting >= self.batch or failed:
            return True
        return now >= oldest + self.linger(running)

    @staticmethod
    def linger(running: int) -> float:
        """How long a delivered try waits to be recorded: a worker with tries in flight
        records when enough have finished; an idle one after IDLE_LINGER, in the trip that
        claims the approvals made meanwhile (recording at once cost each export, as
        approvals come one by one, a trip of its own)."""
        return LINGER if running else IDLE_LINGER

    def wait(self, oldest: float, now: float, longest: float, running: int) -> float:
        """How long the loop may sleep at most before the oldest try's linger is over."""
        return max(0.0, min(longest, oldest + self.linger(running) - now))


@dataclass
class Gather:
    """Whether the worker may claim, after a claim that took everything that was due.

    Approvals arrive one by one (people clicking, scripts calling the API). Without this
    rule every approval costs each worker a trip (one claims it, the others find nothing),
    and a trip costs more than a delivery. After a claim that emptied the queue, a change
    (a wake-up, a finished try) is acted on once GATHER is over, so that the approvals of
    those milliseconds share one trip; a worker idle for longer claims at once, and one
    whose claim filled its batch does not wait.
    """

    until: float = 0.0  # no claim before this time
    pending: bool = False  # a change came while the window was on

    def claimed(self, took: int, limit: int, throttled: bool, now: float) -> None:
        """A claim took `took` of `limit`; a throttled one left exports for full targets
        (ClaimThrottle decides when to claim again)."""
        emptied = took < limit and not throttled
        self.until = now + GATHER if emptied else 0.0
        self.pending = False

    def may_claim(self, now: float) -> bool:
        return now >= self.until

    def before_sleep(self, now: float, change_pending: bool) -> bool:
        """Whether this rule holds claims back while the loop sleeps; a change already
        pending is noted, to be acted on when the window is over."""
        if now >= self.until:
            return False
        self.pending = self.pending or change_pending
        return True

    def wait(self, now: float, longest: float) -> float:
        """How long the loop may sleep at most: until the window is over when a change
        waits for it, else `longest`."""
        if now >= self.until or not self.pending:
            return longest
        return min(longest, self.until - now)


@dataclass
class Refill:
    """When to claim for the slots that finished tries freed.

    A trip costs the same for 8 exports as for 24, so claiming for few slots at a time
    spends CPU on trips that a busy worker needs for deliveries; claiming only once most
    slots are free leaves a slow target's room unused. So: a worker with no try in flight
    or three quarters of its slots free claims at once; one with half its slots free
    claims once they have been free for REFILL (tries to a fast target free more in that
    time, one to a slow target loses a few milliseconds); below half, it waits.
    """

    slots: int
    half_since: float | None = None  # when half the slots or more were last found free

    @property
    def half(self) -> int:
        return max(1, self.slots // 2)

    @property
    def most(self) -> int:
        return max(1, self.slots * 3 // 4)

    def may_claim(self, free: int, now: float) -> bool:
        if free < self.half:
            self.half_since = None
            return False
        if self.half_since is None:
            self.half_since = now
        return free >= self.most or free == self.slots or now >= self.half_since + REFILL

    def holding(self, free: int, now: float) -> bool:
        """Whether free slots wait for more before a claim (the wait wakes the loop)."""
        return self.half_since is not None and not self.may_claim(free, now)

    def claimed(self) -> None:
        self.half_since = None

    def wait(self, now: float, longest: float) -> float:
        """How long the loop may sleep at most before half-free slots are claimed for."""
        if self.half_since is None:
            return longest
        return max(0.0, min(longest, self.half_since + REFILL - now))
