"""docs/api.md's curl walkthrough and its httpx example, run as they are printed, against a
live server: the page cannot drift from what the API does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from passeur.bootstrap import App
from passeur.domain.partners import ClientStatus
from passeur.services import api_clients, clients, partners
from passeur.web.app import create
from tests.browser.harness import serve
from tests.factories import SAMPLE_INVOICE

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "api.md").read_text()


def block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", PAGE, re.S)
    assert found, f"docs/api.md has its {language} block"
    return found.group(1)


def test_the_curl_walkthrough_and_the_httpx_example_run_as_printed(
    sqlite_app: App, shared_data: Path, tmp_path: Path
) -> None:
    app = sqlite_app
    firm = partners.create_partner(app, "Firm")
    clients.create_client(app, firm.id, "Bakkerij Peeters", status=ClientStatus.ACTIVE)
    made, secret = api_clients.create(app, firm.id, "Our ERP sync", "all")
    (tmp_path / "invoice.xml").write_bytes((shared_data / SAMPLE_INVOICE).read_bytes())
    # httpx2 is the project's httpx (stack.md pitfall 1): the example's `import httpx` gets it.
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim" / "httpx.py").write_text("from httpx2 import *  # noqa: F403\n")
    with serve(create(app)) as base:
        env = {**os.environ, "PASSEUR": base, "CLIENT_ID": made.client_key, "CLIENT_SECRET": secret}
        shell = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block("sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert '"name":"Bakkerij Peeters"' in shell.stdout
        assert '{"set":true}' in shell.stdout and "s3cret" not in shell.stdout
        assert '"lifecycle":"approved"' in shell.stdout
        assert re.search(
            r'"state":"pending","filename":"invoice.xml","installation_name":"Our SFTP"',
            shell.stdout,
        )
        python = subprocess.run(
            [sys.executable, "-c", block("python")],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(tmp_path / "shim")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert python.returncode == 0, python.stderr
        assert "404 /api/v1/problems/not-found client 999999 does not exist" in python.stdout
