"""Target servers in processes of their own, so that they do not share a CPU core's
interpreter with what is measured."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SftpServer:
    port: int
    fingerprint: str
    public_key: str
    root: Path


@contextlib.contextmanager
def sftp_server(root: Path, user: str, password: str) -> Iterator[SftpServer]:
    ready = root.parent / f"{root.name}.ready"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "passeur.sandbox.sftp_server", "--root", str(root),
            "--user", f"{user}:{password}", "--ready-file", str(ready),
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() or not ready.read_text().endswith("\n"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the SFTP sandbox did not start")
            time.sleep(0.05)
        port, fingerprint, key = ready.read_text().strip().split(" ", 2)
        yield SftpServer(int(port), fingerprint, key, root / user)
    finally:
        process.terminate()
        process.wait(10)
