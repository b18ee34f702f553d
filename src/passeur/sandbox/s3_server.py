"""A local S3 server for the tests, the benchmarks and a one-machine deployment: moto's
S3 (server mode, a dev dependency) on loopback, with faults a test switches on: the next
requests answer 500, or the server disappears (connections cut mid-request, without an
answer) until it is restored.

    python -m passeur.sandbox.s3_server --port 9000 --bucket passeur
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)


@dataclass
class S3Faults:
    """What the server does wrong, switched on by a test (thread-safe)."""

    failing: int = 0  # the next n matching requests answer 500
    methods: tuple[str, ...] = ("PUT", "POST")
    gone: bool = False  # every request is cut without an answer
    cut_after: int | None = None  # bytes of a matching request's body read before the cut
    seen: list[str] = field(default_factory=list)  # "METHOD path" of every request
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, n: int, methods: Iterable[str] = ("PUT", "POST")) -> None:
        with self._lock:
            self.failing, self.methods = n, tuple(methods)

    def disappear(self, after_bytes: int | None = None, methods: Iterable[str] = ("PUT",)) -> None:
        """Cut every request (from now, or once `after_bytes` of a matching request's body
        have been read: mid-upload)."""
        with self._lock:
            self.methods = tuple(methods)
            self.cut_after = after_bytes
            self.gone = after_bytes is None

    def restore(self) -> None:
        with self._lock:
            self.failing, self.gone, self.cut_after = 0, False, None

    def _take(self, method: str) -> str:
        with self._lock:
            if self.gone:
                return "cut"
            if method not in self.methods:
                return ""
            if self.cut_after is not None:
                return "cut_later"
            if self.failing > 0:
                self.failing -= 1
                return "fail"
            return ""


class _Faulty:
    """WSGI middleware in front of moto."""

    def __init__(self, inner: Callable[..., Any], faults: S3Faults) -> None:
        self.inner, self.faults = inner, faults

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        self.faults.seen.append(f"{method} {environ.get('PATH_INFO', '')}")
        what = self.faults._take(method)
        body = environ["wsgi.input"]
        if what == "cut_later":
            assert self.faults.cut_after is not None
            left = self.faults.cut_after
            while left > 0 and (piece := body.read(min(left, 65536))):
                left -= len(piece)
            with self.faults._lock:
                self.faults.gone = True  # the server is gone from now on
            what = "cut"
        if what == "cut":
            _cut(environ)
            return []
        if what == "fail":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            while length > 0 and (piece := body.read(min(length, 65536))):
                length -= len(piece)
            start("500 Internal Server Error", [("Content-Type", "application/xml"),
                                                ("Content-Length", str(len(ERROR)))])  # fmt: skip
            return [ERROR]
        return self._watched(self.inner(environ, start), environ)

    def _watched(self, answer: Iterable[bytes], environ: dict[str, Any]) -> Iterator[bytes]:
        """The answer, cut if the server disappears while it is being sent."""
        try:
            for piece in answer:
                if self.faults.gone:
                    _cut(environ)
                    return
                yield piece
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()


def _cut(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class S3Sandbox:
    """moto's S3 on 127.0.0.1 in a thread; `url` is its endpoint."""

    def __init__(self) -> None:
        self.faults = S3Faults()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, port: int = 0) -> S3Sandbox:
        from moto.moto_server.werkzeug_app import (  # a dev dependency: imported when used
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
        app = _Faulty(DomainDispatcherApplication(create_backend_app), self.faults)
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def create_bucket(self, name: str = "") -> str:
        """A new, empty bucket (its name)."""
        name = name or f"passeur-{uuid.uuid4().hex[:12]}"
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/{name}", method="PUT")).close()
        return name

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--bucket", default="passeur")
    args = parser.parse_args()
    sandbox = S3Sandbox().start(args.port)
    sandbox.create_bucket(args.bucket)
    print(f"S3 on {sandbox.url}, bucket {args.bucket}", flush=True)
    assert sandbox._thread is not None
    sandbox._thread.join()


if __name__ == "__main__":
    main()
