"""A loopback port where nothing answers, for tests of an unreachable target."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refusing_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port held by a socket that is bound but never listens, for as long as the block
    runs: a connection to it is refused at once, and no other process can start
    listening there meanwhile (as it could on a port picked by binding and closing)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        yield int(sock.getsockname()[1])
