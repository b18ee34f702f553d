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
    settings = app.settings
    env = {
        **os.environ,
        "PASSEUR_DATA_DIR": str(settings.data_dir),
        "PASSEUR_DATABASE_URL": settings.effective_database_url,
        "PASSEUR_SECRET_KEYS": settings.secret_keys.get_secret_value(),
        "PASSEUR_LEASE_SECONDS": str(settings.lease_seconds),
        "PASSEUR_RETRY_SCHEDULE": settings.retry_schedule,
        "PASSEUR_ALLOWED_NETWORKS": settings.allowed_networks,
        "PASSEUR_POLL_SECONDS": str(settings.poll_seconds),
    }
    env.update(extra)
    return env


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
