"""What every benchmark shares: a throwaway database, a timer, a results file.

Each benchmark measures passeur against a baseline run in the same process and minutes,
because the machine is shared and noisy; only the ratio is reported as the figure.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from passeur.bootstrap import App, build
from passeur.settings import Settings
from passeur.storage import schema
from passeur.storage.secret_box import new_key

RESULTS = Path(__file__).with_name("results")
POSTGRES_ADMIN = os.environ.get(
    "PASSEUR_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"passeur_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(folder: Path, database_url: str = "", **overrides: Any) -> App:
    values: dict[str, Any] = {
        "data_dir": folder,
        "database_url": database_url,
        "secret_keys": new_key(),
        "poll_seconds": 0.5,
        "lease_seconds": 60.0,
    }
    values.update(overrides)
    app = build(Settings(**values))
    schema.upgrade(app.engine)
    return app


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def machine() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    """Merge `figures` under `name` into bench/results/bench.json (or the named file)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    current["machine"] = machine()
    current["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return path


def freeze_like_the_cli() -> None:
    """Before a worker runs in this process: start it as `passeur worker` does, with what
    exists (the libraries, the app) frozen out of garbage collection (cli/common.py,
    `resume_collector`). Without it, about a tenth of a delivery's CPU went to the
    collector's passes over objects that live as long as the process."""
    gc.collect()
    gc.freeze()
