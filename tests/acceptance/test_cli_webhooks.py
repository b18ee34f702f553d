"""`passeur webhooks`: add (the secret shown once), list, test, remove. In process (the
command's own code, its settings from the environment): a process per verb costs seconds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from passeur.cli.main import app
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.storage.secret_box import new_key


def test_add_list_test_and_remove_a_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSEUR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PASSEUR_SECRET_KEYS", new_key())
    monkeypatch.setenv("PASSEUR_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.delenv("PASSEUR_DATABASE_URL", raising=False)
    cli = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        done = cli.invoke(app, list(args))
        return done.exit_code, done.output

    runner = ThreadedHttpReceiver(HttpReceiver(None, keep_bodies=True))
    receiver = runner.start()
    try:
        assert run("partners", "create", "Firm")[0] == 0
        code, out = run("webhooks", "add", receiver.url, "--allow-http", "--event",
                        "export.failed", "--concurrency", "2")  # fmt: skip
        assert code == 0, out
        secret = re.search(r"shown once, keep it now\): (\S+)", out)
        assert secret is not None and secret.group(1).startswith("whsec_")
        code, listed = run("webhooks", "list")
        assert "export.failed" in listed and "active" in listed
        assert secret.group(1) not in listed, "the secret is never shown again"
        code, out = run("webhooks", "test", "1")
        assert code == 0 and "sample event accepted (200" in out, out
        (got,) = receiver.accepted.values()
        assert json.loads(got.body or b"")["data"] == {"sample": True}
        receiver.faults.status = 500
        code, out = run("webhooks", "test", "1")
        assert code == 3 and "the endpoint answered 500" in out, "the target refused: exit 3"
        assert run("webhooks", "remove", "1")[0] == 0
        assert receiver.url not in run("webhooks", "list")[1]
    finally:
        runner.stop()
