"""`passeur installations check --send-test` from a terminal, against a loopback receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from passeur.connectors.http.signing import new_secret
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.storage.secret_box import new_key

# Many passeur processes one after the other: slow on a loaded machine, never stuck.
pytestmark = pytest.mark.timeout(600)

SECRET = new_secret()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    runner = ThreadedHttpReceiver(HttpReceiver(SECRET))
    yield runner.start()
    runner.stop()


@pytest.fixture
def passeur(tmp_path: Path) -> Callable[..., str]:
    env = {
        **os.environ,
        "PASSEUR_DATA_DIR": str(tmp_path / "data"),
        "PASSEUR_DATABASE_URL": "",
        "PASSEUR_SECRET_KEYS": new_key(),
    }

    def run(*args: str, code: int = 0, allowed: str = "127.0.0.0/8") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "passeur", *args],
            input=SECRET,
            env={**env, "PASSEUR_ALLOWED_NETWORKS": allowed},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == code, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    return run


def test_a_test_post_from_the_command_line(
    passeur: Callable[..., str], receiver: HttpReceiver
) -> None:
    passeur("db", "upgrade")
    passeur("partners", "create", "Fiduciaire")
    created = passeur(
        "installations", "create", "http", "--name", "ERP",
        "--set", f"base_url={receiver.url}", "--set", "allow_plain_http=yes",
        "--set", "signing_secret=-",
    )  # fmt: skip
    assert "installation 1 ERP (http)" in created
    assert SECRET not in passeur("installations", "show", "1")
    checked = passeur("installations", "check", "1")
    assert "HEAD answered 200" in checked and not receiver.accepted
    sent = passeur("installations", "check", "1", "--send-test")
    assert "Test POST" in sent and "answered 200 OK" in sent
    [test_id] = receiver.accepted
    assert test_id in sent and receiver.bad_signatures == 0
    refused = passeur("installations", "check", "1", code=3, allowed="")
    assert "is a loopback address" in refused and "PASSEUR_ALLOWED_NETWORKS" in refused


class PostOnly(BaseHTTPRequestHandler):
    """A receiver written the plain standard-library way: it has no do_HEAD, so
    http.server answers a HEAD with 501 Not Implemented."""

    posted: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.posted.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def post_only() -> Iterator[str]:
    PostOnly.posted = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PostOnly)  # the server keeps port 0's pick
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_receiver_that_answers_501_to_head_still_gets_the_test_post(
    passeur: Callable[..., str], post_only: str
) -> None:
    passeur("db", "upgrade")
    passeur("partners", "create", "Fiduciaire")
    passeur(
        "installations", "create", "http", "--name", "ERP",
        "--set", f"base_url={post_only}", "--set", "allow_plain_http=yes",
        "--set", "signing_secret=-",
    )  # fmt: skip
    sent = passeur("installations", "check", "1", "--send-test")
    assert "HEAD answered 501" in sent
    assert "Test POST" in sent and "answered 204" in sent
    [body] = PostOnly.posted
    assert b'"type": "passeur.test"' in body
