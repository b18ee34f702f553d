"""An in-process limit of messages per minute per installation (a sliding window).

A short wait is waited; a longer one is handed back to the retry policy as a rate limit,
so no worker slot sits idle for a minute. A pacer shared by all worker processes (in
the database) comes later; until then each process keeps its own count.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from passeur.connectors.errors import RateLimited

WINDOW = 60.0
MAX_WAIT = 15.0  # seconds a delivery may wait for a slot before it is rescheduled


class MinuteLimiter:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[object, deque[float]] = {}
        self._locks: dict[object, asyncio.Lock] = {}

    async def acquire(self, key: object, per_minute: int) -> None:
        """Take a slot for `key`, waiting up to MAX_WAIT; RateLimited when it is longer."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            sent = self._sent.setdefault(key, deque())
            while True:
                now = self._clock()
                while sent and sent[0] <= now - WINDOW:
                    sent.popleft()
                if len(sent) < per_minute:
                    sent.append(now)
                    return
                wait = sent[0] + WINDOW - now
                if wait > MAX_WAIT:
                    raise RateLimited(
                        f"this installation's limit of {per_minute} messages a minute is "
                        f"reached; the next slot is free in {wait:.0f} s",
                        retry_after=wait,
                    )
                await self._sleep(wait)
