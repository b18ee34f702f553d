"""Worker processes started the way an operator starts them: `python -m passeur worker`."""

from __future__ import annotations

import os
import subprocess
import sys

from passeur.bootstrap import App


def worker_env(app: App, **extra: str) -> dict[str, str]:
    settings = app.settings
    env = {
        **os.environ,
        "PASSEUR_DATA_DIR": str(settings.data_dir),
        "PASSEUR_DATABASE_URL": settings.effective_database_url,
        "PASSEUR_SECRET_KEYS": settings.secret_keys.get_secret_value(),
        "PASSEUR_LEASE_SECONDS": str(settings.lease_seconds),
        "PASSEUR_POLL_SECONDS": "0.1",
        "PASSEUR_RETRY_SCHEDULE": settings.retry_schedule,
    }
    env.update(extra)
    return env


def spawn_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "passeur", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
