"""The rate limit per API client holds across web processes: two `passeur serve` processes
on one PostgreSQL database share one count."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest

from passeur.bootstrap import App, build
from passeur.services import api_clients, partners
from tests.conftest import make_settings


@contextmanager
def web_processes(app: App, count: int, **extra: str) -> Iterator[list[str]]:
    """`passeur serve --port 0` processes sharing the app's database, started together;
    yields their base URLs."""
    env = {**os.environ, **app.settings.as_environment(), **extra}
    command = [sys.executable, "-m", "passeur", "serve", "--port", "0"]
    processes = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(count)
    ]
    try:
        yield [_address(p) for p in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)


def _address(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:  # it prints its address once it listens
        if line.startswith("partner space on "):
            return line.split(" on ", 1)[1].strip().rstrip("/")
    raise AssertionError("passeur serve stopped before it listened")


def test_two_web_processes_share_one_limit_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    app = build(make_settings(tmp_path / "data", postgres_url))
    firm = partners.create_partner(app, "Firm")
    made, _ = api_clients.create(app, firm.id, "ERP", "clients:read")
    token = api_clients.create_personal_token(app, firm.id, made.id, "t").token
    other, _ = api_clients.create(app, firm.id, "Other", "clients:read")
    other_token = api_clients.create_personal_token(app, firm.id, other.id, "t").token
    limits = {"PASSEUR_API_RATE_LIMIT": "10", "PASSEUR_API_RATE_WINDOW_SECONDS": "3600"}
    with web_processes(app, 2, **limits) as bases:
        headers = {"authorization": f"Bearer {token}"}
        answers = [httpx2.get(f"{bases[i % 2]}/api/v1/clients", headers=headers) for i in range(16)]
        assert [a.status_code for a in answers].count(200) == 10
        refused = [a for a in answers if a.status_code == 429]
        assert len(refused) == 6 and answers[-1].status_code == 429
        for answer in refused:
            assert 0 < int(answer.headers["retry-after"]) <= 3600
            assert answer.json()["type"] == "/api/v1/problems/rate-limited"
        # Another API client of the same firm has its own count.
        mine = httpx2.get(
            f"{bases[1]}/api/v1/clients", headers={"authorization": f"Bearer {other_token}"}
        )
        assert mine.status_code == 200
    app.close()


def test_a_new_window_starts_when_the_last_one_is_over(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = sqlite_app
    app.settings.api_rate_limit = 2
    firm = partners.create_partner(app, "Firm")
    made, _ = api_clients.create(app, firm.id, "ERP", "all")
    assert [api_clients.take(app, made.id) for _ in range(3)] == [0, 0, 60]
    real = api_clients.utcnow
    monkeypatch.setattr(api_clients, "utcnow", lambda: real() + timedelta(seconds=30))
    assert api_clients.take(app, made.id) in (30, 31)
    monkeypatch.setattr(api_clients, "utcnow", lambda: real() + timedelta(seconds=61))
    assert api_clients.take(app, made.id) == 0
