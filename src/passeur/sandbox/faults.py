"""Faults a test switches on in a cloud stand-in: the next n API calls answer a status
(429 or 403 rate limits, 5xx), with a `Retry-After` and a reason in the provider's words.
Each stand-in writes the answer in its provider's error shape."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    status: int
    left: int
    retry_after: float | None
    reason: str


class Faults:
    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, status: int, n: int, retry_after: float | None, reason: str) -> None:
        with self._lock:
            self._queue.append(Fault(status, n, retry_after, reason))

    def pending(self) -> int:
        """Calls still to be failed by the faults switched on."""
        with self._lock:
            return sum(fault.left for fault in self._queue)

    def take(self) -> Fault | None:
        """The fault this call gets, if one is switched on (each counts down its calls)."""
        with self._lock:
            fault = self._queue[0] if self._queue else None
            if fault is not None:
                fault.left -= 1
                if fault.left <= 0:
                    self._queue.pop(0)
            return fault

    def headers(self, fault: Fault) -> dict[str, str]:
        if fault.retry_after is None:
            return {}
        return {"Retry-After": f"{fault.retry_after:g}"}


def drop_connection(request: Any) -> bool:
    """Cut the request's TCP connection without an answer, as a network failure does in
    the middle of an upload. ASGI has no word for it: uvicorn's receive callable belongs
    to the exchange, which holds the transport. False when that is not reachable (the
    caller then answers 503, which a client meets the same way: transient)."""
    transport = getattr(getattr(request.receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    return True
