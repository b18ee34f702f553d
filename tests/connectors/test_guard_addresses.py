"""The SSRF guard hands back only the addresses the policy allows, and nothing ever
connects to the others: checked with a listener on a refused address."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from passeur.connectors.network import AddressRefused, Guard, Resolver, open_socket
from passeur.domain.network import NetworkPolicy

ONLY_127_0_0_1 = NetworkPolicy.parse("127.0.0.1/32")


def answering(*addresses: str) -> Resolver:
    """A DNS stand-in that answers every lookup with these addresses, in this order."""

    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_only_allowed_addresses_are_handed_back() -> None:
    guard = Guard(
        NetworkPolicy.parse("127.0.0.0/8"),
        answering("10.0.0.7", "127.0.0.1", "169.254.169.254", "127.0.0.2", "192.168.1.1"),
    )
    assert await guard.vetted("erp.example.com", 443) == ["127.0.0.1", "127.0.0.2"]


async def test_a_name_with_only_refused_addresses_is_refused() -> None:
    guard = Guard(ONLY_127_0_0_1, answering("127.0.0.2", "10.0.0.7"))
    with pytest.raises(AddressRefused, match=r"erp\.example\.com \(127\.0\.0\.2\) is a loopback"):
        await guard.vetted("erp.example.com", 443)


@pytest.fixture
def listeners() -> Iterator[tuple[int, socket.socket, socket.socket]]:
    """Two listening sockets on one port: 127.0.0.2 (refused) and 127.0.0.1 (allowed)."""
    for _ in range(20):  # another process may hold the port on 127.0.0.1: take another
        refused = socket.create_server(("127.0.0.2", 0))
        port = refused.getsockname()[1]
        try:
            allowed = socket.create_server(("127.0.0.1", port))
        except OSError:
            refused.close()
            continue
        refused.setblocking(False)
        yield port, refused, allowed
        refused.close()
        allowed.close()
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


async def test_a_refused_address_is_never_connected_to(
    listeners: tuple[int, socket.socket, socket.socket],
) -> None:
    port, refused, _ = listeners
    # The refused address comes first: a guard that let it through would connect there.
    guard = Guard(ONLY_127_0_0_1, answering("127.0.0.2", "127.0.0.1"))
    connected = await open_socket(guard, "erp.example.com", port, timeout=5)
    try:
        assert connected.getpeername() == ("127.0.0.1", port)
        # A connection to the refused listener would wait in its accept queue by now.
        with pytest.raises(BlockingIOError):
            refused.accept()
    finally:
        connected.close()
