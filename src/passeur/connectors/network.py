"""The SSRF guard: resolve a host, vet every address, connect only to a vetted one.

The check happens after DNS resolution and on every new connection, and the address
connected to is the address that was checked, so a name that resolves to a public address
once and to 127.0.0.1 the next time (DNS rebinding) gets nowhere. TLS still verifies the
certificate against the host *name*: only the TCP connection uses the vetted address.

Two users: the outbound HTTP client every HTTP-speaking connector shares
(connectors/outbound.py) asks `Guard.vetted` before every new connection, OAuth token
requests included; `open_socket` gives aiosmtplib a connected socket.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from passeur.domain.network import METADATA, NetworkPolicy

Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """The host resolves only to addresses the operator's policy refuses."""

    def __init__(self, host: str, address: str, reason: str, policy: NetworkPolicy) -> None:
        shown = host if host == address else f"{host} ({address})"
        entry = policy.entry_allowing(address)
        how = (
            f"only the entry {entry} in PASSEUR_ALLOWED_NETWORKS allows it (a network that "
            "contains it does not)"
            if reason == METADATA
            else f"an operator can allow it with PASSEUR_ALLOWED_NETWORKS, e.g. {entry} "
            "or its network"
        )
        super().__init__(
            f"{shown} is a {reason} address, which passeur refuses to reach; {how} "
            f"(allowed now: {policy.describe()})"
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
