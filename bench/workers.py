"""Worker processes for the benchmarks, started like an operator starts them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from passeur.bootstrap import App


def worker_env(app: App, **extra: str) -> dict[str, str]:
    return {**os.environ, **app.settings.as_environment(), **extra}


def spawn(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "passeur", "worker", "--concurrency", str(concurrency)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def running_workers(
    app: App, n: int, *, concurrency: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = worker_env(app, PASSEUR_WORKER_BATCH=str(concurrency))
    workers = [spawn(env, concurrency) for _ in range(n)]
    time.sleep(2.0)  # imported, connected, listening
    try:
        yield workers
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(30)
