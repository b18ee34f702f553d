"""The SSRF guard: resolve a host, vet every address, connect only to a vetted one.

The check happens after DNS resolution and on every new connection, and the address
connected to is the address that was checked, so a name that resolves to a public address
once and to 127.0.0.1 the next time (DNS rebinding) gets nowhere. TLS still verifies the
certificate against the host *name*: only the TCP connection uses the vetted address.

Two entry points: `GuardedBackend` plugs into httpx2 (every HTTP connection, OAuth token
requests included), `open_socket` gives aiosmtplib a connected socket.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore2
import httpx2
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

from passeur.domain.network import NetworkPolicy

Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """The host resolves only to addresses the operator's policy refuses."""

    def __init__(self, host: str, address: str, reason: str, policy: NetworkPolicy) -> None:
        shown = host if host == address else f"{host} ({address})"
        super().__init__(
            f"{shown} is a {reason} address, which passeur refuses to reach; an operator "
            f"can allow its network with PASSEUR_ALLOWED_NETWORKS (allowed now: "
            f"{policy.describe()})"
        )


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order, without repeats."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Guard:
    """A policy and the resolver it judges the answers of (tests inject their own)."""

    policy: NetworkPolicy = field(default_factory=NetworkPolicy)
    resolver: Resolver = system_resolver

    async def vetted(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """The addresses of `host` the policy allows; AddressRefused when there is none.

        Raises OSError (socket.gaierror) when the name does not resolve, TimeoutError
        when resolving takes longer than `timeout`.
        """
        addresses = await asyncio.wait_for(self.resolver(host.strip("[]"), port), timeout)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        allowed = [a for a in addresses if self.policy.refusal(a) is None]
        if not allowed:
            first = addresses[0]
            raise AddressRefused(host, first, self.policy.refusal(first) or "", self.policy)
        return allowed


class GuardedBackend(AsyncNetworkBackend):
    """An httpcore2 network backend that connects only to vetted addresses."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        try:
            addresses = await self.guard.vetted(host, port, timeout)
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from None
        last: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _Stream(stream)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not a delivery target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Stream(AsyncNetworkStream):
    """The backend's stream, answering `is_readable` with one `poll` on its socket.

    The connection pool asks it of every idle connection each time a request starts or
    ends; through anyio's attribute lookup that cost more than the request's own work
    when a worker keeps a few connections idle between batches. The poller is made once.
    """

    def __init__(self, inner: AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._poller: select.poll | None = None
        if self._socket is not None and self._socket.fileno() >= 0:
            self._poller = select.poll()
            self._poller.register(self._socket.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        self._poller = None
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._readable()
        return self._inner.get_extra_info(info)

    def _readable(self) -> bool:
        """Whether a read would return at once (data, or the end of a closed connection).
        A socket already closed counts as readable: the pool then drops the connection."""
        if self._poller is None or self._socket is None or self._socket.fileno() < 0:
            return True
        return bool(self._poller.poll(0))


async def open_socket(guard: Guard, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP socket connected to a vetted address of `host` (for clients that take one)."""
    loop = asyncio.get_running_loop()
    last: OSError | None = None
    for address in await guard.vetted(host, port, timeout):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout)
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise
            last = exc
    assert last is not None
    raise last


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport with its connection pool built on the guarded backend.

    Proxies from the environment are ignored (`trust_env=False`): a proxy would make the
    address checked the proxy's, not the target's.
    """

    def __init__(self, guard: Guard, ssl_context: ssl.SSLContext, limits: httpx2.Limits) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )
