"""Worker processes started the way an operator starts them: `python -m passeur worker`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
import psycopg
from sqlalchemy.engine import make_url

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


def machine_env(app: App, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a process on a machine of its own: the installation's shared
    settings (database, blobs, keys), this machine's data folder, nothing inherited."""
    own = {k: v for k, v in os.environ.items() if not k.startswith("PASSEUR_")}
    return {**own, **app.settings.as_environment(), "PASSEUR_DATA_DIR": str(data_dir),
            "PASSEUR_POLL_SECONDS": "0.1", **extra}  # fmt: skip


def spawn_web(env: dict[str, str]) -> subprocess.Popen[str]:
    """`passeur serve` on any free port (it says which on its first line)."""
    return subprocess.Popen(
        [sys.executable, "-m", "passeur", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class Machines:
    """Processes started as on several machines, their output collected as they run (so
    a chatty one never blocks on a full pipe), stopped with SIGTERM at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.output: dict[int, list[str]] = {}
        self._threads: list[threading.Thread] = []

    def add(self, process: subprocess.Popen[str]) -> subprocess.Popen[str]:
        lines: list[str] = []
        self.processes.append(process)
        self.output[process.pid] = lines
        reader = threading.Thread(target=_collect, args=(process, lines), daemon=True)
        reader.start()
        self._threads.append(reader)
        return process

    def text(self, process: subprocess.Popen[str]) -> str:
        return "".join(self.output[process.pid])

    def web_url(self, process: subprocess.Popen[str]) -> str:
        found: list[str] = []

        def said() -> bool:
            found.extend(re.findall(r"on (http://[\d.:]+)/", self.text(process)))
            return bool(found)

        self.poll(said, "the web process says where it listens")
        return found[0]

    def wait_ready(self, url: str) -> None:
        """Poll GET /ready until it answers 200 (database, schema and blob store)."""

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/ready", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        self.poll(ready, f"{url}/ready answers 200")

    def poll(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        """Check `condition` every 50 ms until it holds; fail after `timeout` seconds or as
        soon as one of the processes has died."""
        deadline = time.monotonic() + timeout
        while not condition():
            dead = [p for p in self.processes if p.poll() is not None]
            if dead:
                raise AssertionError(f"a process exited while waiting for {what}:\n"
                                     + self.text(dead[0])[-3000:])  # fmt: skip
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:.0f} s in vain for: {what}")
            time.sleep(0.05)

    def stop(self, processes: list[subprocess.Popen[str]]) -> list[str]:
        """SIGTERM, then each one's whole output (asserting it exited 0)."""
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
            self._threads[self.processes.index(process)].join(10)
        outputs = [self.text(p) for p in processes]
        assert [p.returncode for p in processes] == [0] * len(processes), outputs
        return outputs

    def __enter__(self) -> Machines:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def wait_listening(database_url: str, n: int, machines: Machines) -> None:
    """Until n backends of the database have LISTEN as their last statement: the workers'
    wake-up connections, so an approval's NOTIFY reaches every one of them."""
    url = make_url(database_url)
    admin = make_url(database_url).set(drivername="postgresql", database="postgres")
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
             " AND query ILIKE 'LISTEN %%'")  # fmt: skip

    def listening() -> bool:
        with psycopg.connect(admin.render_as_string(hide_password=False)) as conn:
            row = conn.execute(query, (url.database,)).fetchone()
        return row is not None and int(row[0]) >= n

    machines.poll(listening, f"{n} workers LISTEN")
