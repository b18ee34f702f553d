"""A stand-in on its own event loop in a thread, for synchronous tests, the demo and the
benchmarks. Every stand-in has `async start(...)` and `async stop()`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Generic, Protocol, TypeVar


class _Server(Protocol):
    async def start(self, *args: Any) -> Any: ...
    async def stop(self) -> Any: ...


S = TypeVar("S", bound=_Server)


class Threaded(Generic[S]):
    def __init__(self, server: S) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self, *args: Any) -> S:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(*args), self._loop).result(10)
        return self.server

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()
