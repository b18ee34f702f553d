"""The web UI's listening socket, bound before anything else starts.

Binding first means a taken port is reported in one line, before the demo or the server
has done any work, and the same socket is handed to uvicorn (never bound twice).
"""

from __future__ import annotations

import errno
import socket


class PortTaken(Exception):
    """The port is in use; the message says how to choose another."""


def listen(host: str, port: int, *, hint: str = "PASSEUR_WEB_PORT=<port>") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        # In use or reserved: another port helps; otherwise the address itself is wrong.
        fix = f"pick another port with {hint}"
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            fix = "give an address of this machine (--host or PASSEUR_WEB_HOST)"
        raise PortTaken(f"cannot listen on {host}:{port} ({exc.strerror or exc}); {fix}") from None
    listener.listen(128)
    return listener
