"""HTTP/1.1 on the wire: keep-alive connections per origin, on asyncio, parsed by httptools.

The HTTP connector sends every delivery through this pool. httpx2's own stack (httpcore2
on anyio) cost about 0.6 ms of CPU for a 30 KB POST on loopback, more than all of
passeur's bookkeeping for that export; here it is under 0.1 ms: one write per small
request, the answer parsed in C, no cancel scopes or locks per step. httpx2 stays the
client API (OAuth token requests go through `WireTransport`), and the errors raised are
httpx2's, so callers classify failures one way.

Every new connection goes to an address the SSRF guard vetted after resolving the host
(connectors/network.py); TLS verifies the certificate against the host name. A request
holds one of `max_connections` slots from before it connects until its answer is read;
an idle connection is reused only while it is open and younger than `keepalive_expiry`.
Connecting, then sending the request and reading its answer, must each finish within
`timeout` seconds. An answer body is read up to `read_at_most` bytes: an endpoint cannot
make us read more.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools
import httpx2

from passeur.connectors.network import Guard

MAX_HEAD = 64 * 1024  # bytes of status line and headers an answer may have
ONE_WRITE = 64 * 1024  # a body up to this size goes out with its head, in one write
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 field names
_UNSAFE_VALUE = re.compile(rb"[\x00\r\n]")
_UNSAFE_TARGET = re.compile(r"[\x00-\x20\x7f]")
Body = bytes | AsyncIterator[bytes] | None


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; a repeated header's values joined by ", "
    body: bytes  # at most the bytes asked for
    complete: bool  # the whole body was read


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _split(url: str) -> tuple[_Origin, str]:
    """The origin and the request target of `url`, or httpx2's error for an unusable one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise httpx2.InvalidURL(f"{url}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise httpx2.UnsupportedProtocol(f"{url}: only http and https URLs can be used")
    if not parts.hostname:
        raise httpx2.InvalidURL(f"{url}: the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise httpx2.InvalidURL(f"{url}: put credentials in the authentication settings")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _UNSAFE_TARGET.search(target):
        raise httpx2.InvalidURL(f"{url}: spaces and control characters must be percent-encoded")
    default = 443 if scheme == "https" else 80
    return _Origin(scheme, parts.hostname, port or default), target


def _head(method: str, target: str, origin: _Origin, headers: dict[str, str], body: Body) -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode(), f"Host: {origin.host_header}".encode()]
    if not any(name.lower() == "content-length" for name in headers):
        if isinstance(body, bytes):
            lines.append(b"Content-Length: %d" % len(body))
        elif body is not None:  # a stream's length is the caller's to say
            raise httpx2.LocalProtocolError("a streamed body needs a Content-Length header")
    for name, value in headers.items():
        raw_name, raw_value = name.encode("latin-1"), value.encode("utf-8")
        # A header that smuggles a line break would forge headers or a second request.
        if not _TOKEN.match(raw_name) or _UNSAFE_VALUE.search(raw_value):
            raise httpx2.LocalProtocolError(f"the header {name!r} cannot be sent as it is")
        lines.append(raw_name + b": " + raw_value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _Connection(asyncio.Protocol):
    """One connection: writes a request, parses its answer (httptools calls the on_*
    methods while it reads)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser: httptools.HttpResponseParser | None = None
        self._answer: asyncio.Future[tuple[Answer, bool]] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._head_only = False
        self._read_at_most = 0
        self._status = 0
        self._reason = ""
        self._headers: dict[str, str] = {}
        self._head_size = 0
        self._body = bytearray()
        self._truncated = False

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing asked: a server talking out of turn is not reused
            self.close()
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx2.RemoteProtocolError(f"the answer is not valid HTTP: {exc}"))

    def eof_received(self) -> bool | None:
        self._closed_by_peer()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed_by_peer()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools' side
    def on_status(self, status: bytes) -> None:
        self._reason = status.decode("latin-1")
        self._grow_head(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow_head(len(name) + len(value))
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        held = self._headers.get(key)
        self._headers[key] = text if held is None else f"{held}, {text}"

    def on_headers_complete(self) -> None:
        parser = self._parser
        if parser is None:  # the answer already failed (headers too large)
            return
        status = parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            self._headers, self._reason, self._head_size = {}, "", 0
            return
        self._status = status
        if self._head_only:  # an answer to HEAD has headers only, whatever they announce
            self._finish(keep_alive=parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        room = self._read_at_most - len(self._body)
        if len(body) > room:
            self._body += body[: max(room, 0)]
            self._truncated = True
            self._finish(keep_alive=False)  # unread bytes are left: the connection goes
        else:
            self._body += body

    def on_message_complete(self) -> None:
        if self._status and self._parser is not None:
            self._finish(keep_alive=self._parser.should_keep_alive())

    # the pool's side
    async def exchange(
        self, head: bytes, body: Body, *, head_only: bool, read_at_most: int
    ) -> tuple[Answer, bool]:
        """Send one request and wait for its answer; also says whether the connection can
        be used again."""
        loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        self._answer = loop.create_future()
        self._head_only, self._read_at_most = head_only, read_at_most
        self._status, self._reason, self._headers, self._head_size = 0, "", {}, 0
        self._body, self._truncated = bytearray(), False
        try:
            await self._send(head, body)
        except httpx2.WriteError:
            # A server may answer early (413, 401) and close before taking the whole body:
            # its answer says more than the broken write.
            if self._answer.done() and not self._answer.cancelled():
                return self._answer.result()
            raise
        return await self._answer

    async def _send(self, head: bytes, body: Body) -> None:
        if body is None or isinstance(body, bytes):
            small = body is None or len(body) <= ONE_WRITE
            self._write(head + (body or b"") if small else head)
            if not small:
                self._write(body or b"")
            await self._drain()
            return
        self._write(head)
        async for chunk in body:
            self._write(chunk)
            await self._drain()

    def _write(self, data: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            raise httpx2.WriteError("the connection closed while sending")
        self.transport.write(data)

    async def _drain(self) -> None:
        if self._writable is not None:
            await self._writable
        if self.closed:
            raise httpx2.WriteError("the connection closed while sending")

    def close(self) -> None:
        self.closed = True
        self._parser = None
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()  # nobody waits for it any more
        if self.transport is not None:
            self.transport.close()

    def _grow_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD:
            self._fail(httpx2.RemoteProtocolError(f"the answer's headers exceed {MAX_HEAD} bytes"))

    def _finish(self, *, keep_alive: bool) -> None:
        self._parser = None
        answer = Answer(
            self._status, self._reason, self._headers, bytes(self._body), not self._truncated
        )
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((answer, keep_alive and not self._truncated))

    def _fail(self, error: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self.close()

    def _closed_by_peer(self) -> None:
        self.closed = True
        if self._parser is not None and self._status and not self._head_only:
            # An answer without a length ends when the server closes the connection; one
            # that announced a length or chunks was cut short.
            framed = "content-length" in self._headers or "transfer-encoding" in self._headers
            self._truncated = self._truncated or framed
            self._finish(keep_alive=False)
        elif self._answer is not None and not self._answer.done():
            self._fail(httpx2.RemoteProtocolError("the server closed the connection early"))


class WirePool:
    """Keep-alive connections to any origin, at most `max_connections` busy or idle."""

    def __init__(
        self,
        guard: Guard,
        ssl_context: ssl.SSLContext,
        *,
        max_connections: int,
        timeout: float,
        keepalive_expiry: float = 30.0,
    ) -> None:
        self.guard = guard
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_Origin, list[_Connection]] = {}

    @property
    def connections(self) -> int:
        """Idle connections kept open."""
        return sum(len(idle) for idle in self._idle.values())

    async def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Body = None,
        *,
        read_at_most: int,
    ) -> Answer:
        origin, target = _split(url)
        head = _head(method, target, origin, headers, body)
        async with self._slots:
            connection = self._reusable(origin) or await self._connect(origin)
            keep = False
            try:
                async with asyncio.timeout(self.timeout):
                    answer, keep = await connection.exchange(
                        head, body, head_only=method == "HEAD", read_at_most=read_at_most
                    )
                return answer
            except TimeoutError:
                raise httpx2.ReadTimeout(
                    f"{origin.host} did not answer within {self.timeout:.0f} s"
                ) from None
            finally:
                if keep and not connection.closed:
                    connection.idle_since = time.monotonic()
                    self._idle.setdefault(origin, []).append(connection)
                else:
                    connection.close()

    def _reusable(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used is the likeliest still open
            if not connection.closed and now - connection.idle_since < self.keepalive_expiry:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: _Origin) -> _Connection:
        host = origin.host
        try:
            addresses = await self.guard.vetted(host, origin.port, self.timeout)
        except TimeoutError:
            raise httpx2.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as exc:
            raise httpx2.ConnectError(f"cannot resolve {host}: {exc}") from None
        loop = asyncio.get_running_loop()
        tls: dict[str, Any] = {}
        if origin.scheme == "https":
            tls = {"ssl": self.ssl_context, "server_hostname": host}
        last: Exception | None = None
        for address in addresses:  # the vetted address is the one connected to
            try:
                async with asyncio.timeout(self.timeout):
                    _, connection = await loop.create_connection(
                        _Connection, address, origin.port, **tls
                    )
                return connection
            except TimeoutError:
                raise httpx2.ConnectTimeout(
                    f"connecting to {host} took longer than {self.timeout:.0f} s"
                ) from None
            except ssl.SSLCertVerificationError as exc:
                raise httpx2.ConnectError(f"[SSL: CERTIFICATE_VERIFY_FAILED] {exc}") from exc
            except OSError as exc:
                last = exc
        raise httpx2.ConnectError(str(last)) from last

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


class WireTransport(httpx2.AsyncBaseTransport):
    """httpx2's transport on a WirePool, for the requests that go through an httpx2
    client (OAuth tokens). Their answers are small; at most `READ_AT_MOST` is read."""

    READ_AT_MOST = 1024 * 1024

    def __init__(self, pool: WirePool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        content = await request.aread()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        answer = await self.pool.request(
            request.method,
            str(request.url),
            headers,
            content or None,
            read_at_most=self.READ_AT_MOST,
        )
        return httpx2.Response(
            answer.status,
            headers=list(answer.headers.items()),
            content=answer.body,
            request=request,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()
