"""Signing an installation in from a terminal (`passeur installations connect ID`), the way
desktop tools do (RFC 8252 §7.3): passeur listens on a loopback port, prints the
provider's sign-in address, and the provider sends the person's browser back to
`http://127.0.0.1:PORT/oauth/callback`. The state, PKCE and the grant's storage are the
web sign-in's own (services/oauth_signin.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit

from passeur.bootstrap import App
from passeur.domain.errors import Conflict
from passeur.domain.extensions import Installation
from passeur.services import oauth_signin

CALLBACK = "/oauth/callback"
PAGE = (
    b"<!doctype html><meta charset=utf-8><title>passeur</title>"
    b"<p>passeur has the provider's answer; go back to the terminal.</p>"
)


class _Answer(HTTPServer):
    answer: dict[str, str] | None = None


class _Callback(BaseHTTPRequestHandler):
    server: _Answer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK or self.server.answer is not None:
            self.send_error(404)
            return
        self.server.answer = dict(parse_qsl(parts.query))
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        """Nothing logged: the request line carries the sign-in code."""


def connect(
    app: App,
    partner_id: int,
    installation_id: int,
    show: Callable[[str], None],
    *,
    port: int = 0,
    timeout: float = 600.0,
) -> Installation:
    """Sign the installation in: `show` gets the address to open; then wait (at most
    `timeout` seconds) for the provider to send the browser back to us."""
    try:
        listening = _Answer(("127.0.0.1", port), _Callback)
    except OSError as exc:
        raise Conflict(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); use --port") from None
    with listening as server:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK}"
        show(oauth_signin.begin(app, partner_id, installation_id, redirect_uri))
        deadline = time.monotonic() + timeout
        server.timeout = 0.5  # handle_request returns this often to look at the deadline
        while server.answer is None:
            if time.monotonic() > deadline:
                raise Conflict(f"no answer from the provider within {timeout:g} s; run it again")
            server.handle_request()
        answer = server.answer
    return asyncio.run(
        oauth_signin.finish(
            app,
            partner_id,
            answer.get("state", ""),
            answer.get("code", ""),
            redirect_uri,
            error=answer.get("error", ""),
        )
    )
