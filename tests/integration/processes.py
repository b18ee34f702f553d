"""Worker processes started the way an operator starts them: `python -m passeur worker`."""

from __future__ import annotations

import os
import subprocess
import sys

from passeur.bootstrap import App


def worker_env(app: App, **extra: str) -> dict[str, str]:
    return {**os.environ, **app.settings.as_environment(), "PASSEUR_POLL_SECONDS": "0.1", **extra}


def spawn_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "passeur", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
