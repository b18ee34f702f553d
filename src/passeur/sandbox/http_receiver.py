"""A loopback HTTP endpoint that behaves like a careful Standard Webhooks receiver.

It verifies every POST's signature with its own code (not passeur's signer), refuses
timestamps more than five minutes off, drops duplicates by `webhook-id` (answering 200,
as the spec asks receivers to), and records what it accepted. Switches in `faults`
inject what real endpoints do: a status for every request or the next n, `Retry-After`,
a redirect, a delay (for timeouts), a random share of failures. It can require
credentials (fixed headers, or OAuth client credentials through its `/oauth/token`).

A plain ASGI app under uvicorn, so it can take thousands of requests a second; run it in
the test's event loop (`start`/`stop`) or on its own thread (`ThreadedHttpReceiver`).
Bodies are kept only with `keep_bodies` (tests), so long runs stay small.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import uvicorn

from passeur.sandbox.threaded import Threaded
from passeur.sandbox.tls import SandboxTls

TOLERANCE = 300  # seconds a webhook-timestamp may be off
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class ReceiverFaults:
    status: int | None = None  # answer requests with this status…
    times: int | None = None  # …only the next n of them (None: until cleared)
    retry_after: str | None = None  # Retry-After on fault answers
    location: str | None = None  # Location on fault answers (redirects)
    body: str = ""  # body of fault answers
    delay: float = 0.0  # seconds to wait before answering anything
    failure_ratio: float = 0.0  # share of POSTs answered with ratio_status at random
    ratio_status: int = 503
    # When given, a random failure is one of these instead; 0 means "never answer" (the
    # client times out), 429 comes with `Retry-After: 1`.
    ratio_statuses: tuple[int, ...] = ()
    hang_seconds: float = 120.0


@dataclass(frozen=True)
class Seen:
    """One request as it came, whatever the answer (kept for every request: it is small)."""

    method: str
    path: str
    webhook_id: str
    idempotency_key: str
    status: int


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: int
    method: str
    path: str
    headers: dict[str, str]
    size: int
    sha256: str
    body: bytes | None = field(default=None, repr=False)


class HttpReceiver:
    def __init__(
        self,
        secret: str | None = None,
        *,
        required_headers: dict[str, str] | None = None,
        oauth_clients: dict[str, str] | None = None,
        token_lifetime: int = 3600,
        keep_bodies: bool = False,
        tls: SandboxTls | None = None,
        tls_folder: Path | None = None,
        host: str = "127.0.0.1",
        seed: int | None = None,
        journal: Path | None = None,
        port: int = 0,
    ) -> None:
        self.keys = _keys(secret) if secret else []
        self.required_headers = {k.lower(): v for k, v in (required_headers or {}).items()}
        self.oauth_clients = dict(oauth_clients or {})
        self.token_lifetime = token_lifetime
        self.keep_bodies = keep_bodies
        self.tls, self.tls_folder = tls, tls_folder
        self.host = host
        self.faults = ReceiverFaults()
        self.accepted: dict[str, Received] = {}
        self.seen: list[Seen] = []  # every request but token requests, in order
        self.duplicates = 0
        self.bad_signatures = 0
        self.token_requests = 0
        self.tokens: set[str] = set()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = port
        self.log_level = "warning"
        # Every accepted request and every duplicate, one JSON line each, kept across
        # restarts (a receiver that goes down and comes back still knows what it has).
        self.journal = journal
        if journal is not None and journal.exists():
            for line in journal.read_text().splitlines():
                entry = json.loads(line)
                if entry.get("accepted"):
                    self.accepted[entry["accepted"]] = Received(
                        entry["accepted"], 0, "POST", entry.get("path", ""), {}, entry["size"],
                        entry["sha256"],
                    )  # fmt: skip
                else:
                    self.duplicates += 1

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def revoke_tokens(self) -> None:
        """Every OAuth token issued so far stops working (as when it expires early)."""
        with self._lock:
            self.tokens.clear()

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Answers go out as two writes (head, body): without this, Nagle held the body
        # back until the client's delayed ACK, 40 ms per request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        options: dict[str, Any] = {}
        if self.tls is not None:
            assert self.tls_folder is not None, "give a folder for the certificate files"
            cert, key = self.tls.write(self.tls_folder)
            options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        config = uvicorn.Config(
            self,
            lifespan="off",
            log_level=self.log_level,
            access_log=False,
            timeout_graceful_shutdown=1,
            **options,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped the server
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server, self._task = None, None

    # The ASGI application.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        status, extra, text = await self._answer(method, path, headers, body)
        if path != "/oauth/token":
            seen = Seen(
                method,
                path,
                headers.get("webhook-id", ""),
                headers.get("idempotency-key", ""),
                status,
            )
            with self._lock:
                self.seen.append(seen)
        payload = text.encode()
        head = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
        head += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], str]:
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if path == "/oauth/token" and self.oauth_clients:
            return self._token(headers, body)
        fault = await self._fault(method)
        if fault is not None:
            return fault
        if not self._authorised(headers):
            return 401, {"www-authenticate": "Bearer"}, '{"error": "unauthorized"}'
        if method == "HEAD":
            return 200, {}, ""
        if method != "POST":
            return 405, {"allow": "POST, HEAD"}, '{"error": "method not allowed"}'
        problem = self._verify(headers, body)
        if problem:
            with self._lock:
                self.bad_signatures += 1
            return 401, {}, json.dumps({"error": problem})
        webhook_id = headers["webhook-id"]
        with self._lock:
            if webhook_id in self.accepted:
                self.duplicates += 1
                self._write({"duplicate": webhook_id, "at": time.time()})
                return 200, {}, json.dumps({"duplicate": webhook_id})
            self._write(
                {
                    "accepted": webhook_id,
                    "at": time.time(),
                    "path": path,
                    "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                }
            )
            self.accepted[webhook_id] = Received(
                webhook_id=webhook_id,
                timestamp=int(headers["webhook-timestamp"]),
                method=method,
                path=path,
                headers=headers,
                size=len(body),
                sha256=hashlib.sha256(body).hexdigest(),
                body=body if self.keep_bodies else None,
            )
        return 200, {}, json.dumps({"received": webhook_id})

    def _write(self, entry: dict[str, Any]) -> None:
        if self.journal is not None:
            with self.journal.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")

    async def _fault(self, method: str) -> tuple[int, dict[str, str], str] | None:
        faults = self.faults
        status: int | None = None
        with self._lock:
            if faults.status is not None and (faults.times is None or faults.times > 0):
                status = faults.status
                if faults.times is not None:
                    faults.times -= 1
            elif method == "POST" and self._random.random() < faults.failure_ratio:
                status = faults.ratio_status
                if faults.ratio_statuses:
                    status = self._random.choice(faults.ratio_statuses)
        if status is None:
            return None
        if status == 0:
            await asyncio.sleep(faults.hang_seconds)  # the client gives up first
            status = 504
        extra = {}
        if faults.retry_after is not None:
            extra["retry-after"] = faults.retry_after
        elif status == 429 and faults.ratio_statuses:
            extra["retry-after"] = "1"
        if faults.location is not None:
            extra["location"] = faults.location
        return status, extra, faults.body or json.dumps({"fault": status})

    def _authorised(self, headers: dict[str, str]) -> bool:
        for name, value in self.required_headers.items():
            if not hmac.compare_digest(headers.get(name, "").encode(), value.encode()):
                return False
        if self.oauth_clients:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            with self._lock:
                return scheme.lower() == "bearer" and token in self.tokens
        return True

    def _verify(self, headers: dict[str, str], body: bytes) -> str:
        """'' when the Standard Webhooks signature holds, else why not."""
        if not self.keys:
            return ""
        webhook_id = headers.get("webhook-id", "")
        stamp = headers.get("webhook-timestamp", "")
        signatures = headers.get("webhook-signature", "")
        if not (webhook_id and stamp.isdigit() and signatures):
            return "missing webhook headers"
        if abs(time.time() - int(stamp)) > TOLERANCE:
            return "timestamp too far from now"
        signed = webhook_id.encode() + b"." + stamp.encode() + b"." + body
        expected = [
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in self.keys
        ]
        for entry in signatures.split(" "):
            version, _, given = entry.partition(",")
            if version == "v1" and any(hmac.compare_digest(given.encode(), e) for e in expected):
                return ""
        return "no valid signature"

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        with self._lock:
            self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(encoded, validate=True).decode()
            except ValueError:
                return 401, {}, '{"error": "invalid_client"}'
            client_id, _, client_secret = (unquote_plus(p) for p in pair.partition(":"))
        if form.get("grant_type") != "client_credentials":
            return 400, {}, '{"error": "unsupported_grant_type"}'
        if self.oauth_clients.get(client_id) != client_secret or not client_secret:
            return 401, {}, '{"error": "invalid_client"}'
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        return 200, {"cache-control": "no-store"}, json.dumps(answer)


def _keys(secret: str) -> list[bytes]:
    keys = []
    for part in secret.split():
        keys.append(base64.b64decode(part.removeprefix("whsec_")))
    return keys


# The HttpReceiver on its own event loop in a thread (synchronous tests, the demo).
ThreadedHttpReceiver = Threaded[HttpReceiver]


def main() -> None:
    """Run the receiver on its own: `python -m passeur.sandbox.http_receiver --secret S`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--secret", required=True, help="whsec_… signing secret")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--journal", type=Path, help="JSON lines of what was accepted")
    parser.add_argument("--failure-ratio", type=float, default=0.0)
    parser.add_argument("--failures", default="503", help="e.g. 500,429,timeout")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--ready-file", type=Path, help="written with the port once listening")
    args = parser.parse_args()

    async def serve() -> None:
        receiver = HttpReceiver(args.secret, journal=args.journal, port=args.port, seed=args.seed)
        receiver.log_level = "critical"  # hanging requests cut at shutdown are expected
        receiver.faults.failure_ratio = args.failure_ratio
        receiver.faults.ratio_statuses = tuple(
            0 if part == "timeout" else int(part) for part in args.failures.split(",")
        )
        await receiver.start()
        if args.ready_file is not None:
            args.ready_file.write_text(f"{receiver.port}\n")
        print(receiver.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
