"""Outbound HTTP for every connector that speaks it, on aiohttp, behind the SSRF guard.

The HTTP extension's deliveries, OAuth token requests, and the cloud and accounting
connectors' API calls all go through an `Outbound`: one pool of keep-alive connections
(one per installation, at most `max_connections` of them, each kept `keepalive_expiry`
seconds) with these rules, which no caller has to repeat:

* **Only vetted addresses are connected to.** aiohttp asks our resolver for the host's
  addresses; it answers with those the guard allowed (connectors/network.py), and aiohttp
  connects to exactly those. Nothing is cached: every new connection resolves and vets
  again. A URL whose host is an IP address is vetted here (aiohttp does not resolve one).
* **TLS is verified against the host name**: SNI and the certificate check use the URL's
  host, even though the TCP connection goes to an address.
* **Timeouts per operation, not per exchange.** Resolving, connecting (TLS included), each
  slice of the upload being taken, and each read of the answer must each happen within
  `timeout` seconds. A 50 MB upload over a slow link that keeps moving is never cut;
  a peer that stops moving is. aiohttp has no write timeout: `_Progress` is ours.
* **The next vetted address is tried** when one refuses or does not answer (aiohttp's
  happy eyeballs: the next attempt starts 250 ms after the previous one).
* **Bodies are streamed** (bytes, or an async iterable of bytes, sent in 64 KB slices);
  an answer is read up to `read_at_most` bytes; redirects are never followed; no cookie
  is kept; proxy settings from the environment are ignored (a proxy would make the
  guarded address the proxy's); the answer is not decompressed (none is asked for).
* **Failures come out classified** (connectors/errors.py), the same way for every
  connector: unreachable, timed out or broken mid-exchange is transient; a refused
  address, an untrusted certificate, a URL or header that cannot be sent is a
  configuration error.

Why aiohttp and not httpx2 (httpcore2), and the figures: docs/decisions.md.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import re
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from passeur import __version__
from passeur.connectors.errors import Misconfigured, TransientError
from passeur.connectors.network import AddressRefused, Guard
from passeur.connectors.tls import client_context, is_certificate_error

USER_AGENT = f"passeur/{__version__}"
READ_AT_MOST = 4096  # bytes of an answer read unless the caller asks for more
SLICE = 64 * 1024  # a body is handed to the connection in slices of this size
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 field names
_UNSAFE_VALUE = re.compile(r"[\x00\r\n]")
_UNSAFE_TARGET = re.compile(r"[\x00-\x20\x7f]")

Body = bytes | AsyncIterable[bytes] | None


class Unreachable(TransientError):
    """The name does not resolve, or no vetted address took the connection."""


class TimedOut(TransientError):
    """Resolving, connecting, sending or reading made no progress within the timeout."""


class Broken(TransientError):
    """The connection failed mid-exchange, or what came back is not HTTP."""


class Refused(Misconfigured):
    """Every address of the host is one the operator's network policy refuses."""


class UntrustedCertificate(Misconfigured):
    """The server's certificate does not verify for the host name."""


class Unsendable(Misconfigured):
    """The URL or a header cannot be sent as it is; nothing was sent."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; a repeated header's values joined by ", "
    body: bytes  # at most the bytes asked for
    complete: bool  # the whole body was read

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not, or was cut)."""
        return json.loads(self.body)


class Outbound:
    """Keep-alive connections to any host, at most `max_connections` busy or idle.

    Open it inside the event loop that uses it (the session is made on first use);
    `close()` when done.
    """

    def __init__(
        self,
        guard: Guard,
        *,
        tls: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        max_connections: int = 8,
        keepalive_expiry: float = 30.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.guard = guard
        self.tls = tls or client_context()
        self.timeout = timeout
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._vetted_addresses: set[str] = set()  # IP literals of URLs, already allowed

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: Body = None,
        read_at_most: int = READ_AT_MOST,
    ) -> Answer:
        """Send one request and read its answer (up to `read_at_most` bytes of body).

        Raises the classified errors above; nothing else escapes but cancellation.
        """
        where = _url(url)
        host = where.raw_host or ""
        sent = _headers(host, headers or {})
        if host not in self._vetted_addresses and _is_address(host):
            self._vet_address(host)
        session = self._session or self._open()
        progress = _Progress(self.timeout)
        try:
            async with asyncio.timeout(None) as progress.scope:
                data = body
                if body is not None and not (isinstance(body, bytes) and len(body) <= SLICE):
                    data = progress.slices(body)  # a small body is written at once
                    if isinstance(body, bytes) and not _has(sent, "content-length"):
                        sent["Content-Length"] = str(len(body))  # not chunked: its length is known
                async with session.request(
                    method, where, headers=sent, data=data, allow_redirects=False
                ) as response:
                    progress.stop()
                    return await _read(response, read_at_most)
        except TimeoutError as exc:
            raise self._timed_out(host, exc, stalled=progress.expired()) from None
        except aiohttp.ClientConnectorError as exc:
            if is_certificate_error(exc):
                raise UntrustedCertificate(
                    f"the TLS certificate of {host} cannot be verified ({_cause(exc)})"
                ) from None
            raise Unreachable(f"cannot reach {host}: {_cause(exc.os_error)}") from None
        except aiohttp.InvalidURL as exc:
            raise Unsendable(f"{shown_url(url)} cannot be used: {exc}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise Broken(f"the connection to {host} failed: {_cause(exc)}") from None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections,
            limit_per_host=0,
            ssl=self.tls,
            resolver=_VettedResolver(self.guard, self.timeout),
            use_dns_cache=False,  # every new connection is vetted again (DNS rebinding)
            keepalive_timeout=self.keepalive_expiry,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # `connect` would include the wait for a free connection: only the socket's
            # connection (TLS included) and each read are timed; uploads by _Progress.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=self.timeout, sock_read=self.timeout
            ),
            headers={"User-Agent": self.user_agent},
            skip_auto_headers=("Accept-Encoding",),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self._session

    def _vet_address(self, address: str) -> None:
        refusal = self.guard.policy.refusal(address)
        if refusal is not None:
            raise Refused(str(AddressRefused(address, address, refusal, self.guard.policy)))
        self._vetted_addresses.add(address)

    def _timed_out(self, host: str, exc: BaseException, *, stalled: bool) -> TimedOut:
        seconds = f"{self.timeout:g} s"
        if stalled:
            return TimedOut(f"{host} took no more of the request for {seconds}")
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return TimedOut(f"connecting to {host} took longer than {seconds}")
        return TimedOut(f"{host} did not answer within {seconds}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _VettedResolver(AbstractResolver):
    """aiohttp's resolver: the addresses the guard allowed, and only those."""

    def __init__(self, guard: Guard, timeout: float) -> None:
        self.guard = guard
        self.timeout = timeout

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # Raised errors are ours, not OSError, so that aiohttp passes them through as is.
        try:
            addresses = await self.guard.vetted(host, port, self.timeout)
        except AddressRefused as exc:
            raise Refused(str(exc)) from None
        except TimeoutError:
            raise TimedOut(f"resolving {host} took longer than {self.timeout:g} s") from None
        except OSError as exc:
            raise Unreachable(f"cannot resolve {host}: {_cause(exc)}") from None
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class _Progress:
    """The upload's timeout: each slice must be taken by the connection within `seconds`
    of the previous one (aiohttp pulls the next slice once the last one is written).
    The answer's arrival ends the watch; reads have aiohttp's own timeout."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.scope: asyncio.Timeout | None = None
        self._watching = True

    async def slices(self, body: bytes | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        async for chunk in _chunks(body):
            for start in range(0, len(chunk), SLICE):
                self._deadline(loop.time() + self.seconds)
                yield chunk[start : start + SLICE]
        self._deadline(None)

    def stop(self) -> None:
        self._deadline(None)
        self._watching = False

    def expired(self) -> bool:
        return self.scope is not None and self.scope.expired()

    def _deadline(self, when: float | None) -> None:
        if self._watching and self.scope is not None:
            self.scope.reschedule(when)


async def _chunks(body: bytes | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        yield body
        return
    async for chunk in body:
        yield chunk


async def _read(response: aiohttp.ClientResponse, read_at_most: int) -> Answer:
    body = bytearray()
    complete = True
    try:
        while len(body) < read_at_most:
            chunk = await response.content.read(read_at_most - len(body))
            if not chunk:
                break
            body += chunk
        complete = response.content.at_eof()
    except aiohttp.ClientPayloadError:  # cut before its announced end: keep what came
        complete = False
    if not complete:
        response.close()  # unread bytes are left: the connection goes
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        held = headers.get(key)
        headers[key] = value if held is None else f"{held}, {value}"
    return Answer(response.status, response.reason or "", headers, bytes(body), complete)


def shown_url(url: str) -> str:
    """A URL as a message may show it: no user info, query or fragment, which can carry a
    password or a token, and never more than 200 characters."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the URL"
    if not parts.scheme or not host:
        return "the URL"
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200]


@functools.lru_cache(maxsize=1024)
def _url(url: str) -> URL:
    """The URL to send to, or Unsendable for one that cannot be used as it is."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Unsendable(f"{shown_url(url)} cannot be used: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Unsendable(f"{shown_url(url)} cannot be used: only http and https URLs can be used")
    if not parts.hostname:
        raise Unsendable(f"{shown_url(url)} cannot be used: the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Unsendable(
            f"{shown_url(url)} cannot be used: put credentials in the authentication settings"
        )
    if _UNSAFE_TARGET.search(parts.path + parts.query):
        raise Unsendable(
            f"{shown_url(url)} cannot be used: "
            "spaces and control characters must be percent-encoded"
        )
    host = parts.hostname
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise Unsendable(f"{shown_url(url)} cannot be used: {exc}") from None
    # As given, percent-encoding included: yarl would re-encode it otherwise.
    return URL.build(
        scheme=scheme,
        host=f"[{host}]" if ":" in host else host,
        port=port,
        path=parts.path or "/",
        query_string=parts.query,
        encoded=True,
    )


def _headers(host: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers as given, or Unsendable: one carrying a line break would forge
    headers or a second request."""
    for name, value in headers.items():
        if not _TOKEN.match(name) or _UNSAFE_VALUE.search(value):
            raise Unsendable(f"nothing was sent to {host}: the header {name!r} cannot be sent")
    return {name: value for name, value in headers.items() if name.lower() != "host"}


def _has(headers: dict[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cause(exc: BaseException | None) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
