"""`passeur installations connect ID` from a terminal: it prints the provider's sign-in
address and waits on a loopback port; the browser, sent back there by the provider,
finishes the sign-in. Against the Dropbox stand-in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from passeur.sandbox.dropbox_server import DropboxServer, ThreadedDropboxServer
from passeur.storage.secret_box import new_key


@pytest.fixture
def dropbox() -> Iterator[DropboxServer]:
    runner = ThreadedDropboxServer(DropboxServer(client_id="passeur-cli"))
    yield runner.start()
    runner.stop()


def test_connect_prints_the_address_and_keeps_the_grant(
    tmp_path: Path, dropbox: DropboxServer
) -> None:
    env = {
        **os.environ,
        "PASSEUR_DATA_DIR": str(tmp_path / "data"),
        "PASSEUR_DATABASE_URL": "",
        "PASSEUR_SECRET_KEYS": new_key(),
        "PASSEUR_ALLOWED_NETWORKS": "127.0.0.0/8",
        **{f"PASSEUR_{name.upper()}": value for name, value in dropbox.settings().items()},
    }

    def passeur(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "passeur", *args],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    assert "installation 1" in passeur("installations", "create", "dropbox", "--name", "Box")

    connecting = subprocess.Popen(
        [sys.executable, "-m", "passeur", "installations", "connect", "1", "--timeout", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert connecting.stdout is not None
        assert connecting.stdout.readline().startswith("Open this address to sign in")
        address = connecting.stdout.readline().strip()
        assert address.startswith(dropbox.authorize_url)
        assert "token_access_type=offline" in address and "code_challenge=" in address
        # The person's browser: the stand-in approves and redirects to the loopback port.
        page = urllib.request.urlopen(address, timeout=30).read().decode()
        assert "go back to the terminal" in page
        out, err = connecting.communicate(timeout=60)
    finally:
        connecting.kill()
    assert connecting.returncode == 0, out + err
    assert "installation 1 is signed in" in out
    assert dropbox.exchanges == 1
    shown = passeur("installations", "show", "1")
    assert '"refresh_token"' in shown  # its name, among the secrets set
    for token in dropbox.live_refresh_tokens():
        assert token not in shown and token not in out + err


def test_connect_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PASSEUR_DATA_DIR": str(tmp_path / "data"),
        "PASSEUR_DATABASE_URL": "",
        "PASSEUR_SECRET_KEYS": new_key(),
    }

    def passeur(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "passeur", *args],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    for setup in (("db", "upgrade"), ("partners", "create", "Firm")):
        assert passeur(*setup).returncode == 0
    assert passeur("installations", "create", "dropbox", "--name", "Box").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = passeur("installations", "connect", "1", "--port", port)
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
