from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from passeur.sandbox.sftp_server import SftpSandbox, ThreadedSftpSandbox
from tests.factories import PASSWORD, USER


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpSandbox]:
    """A real SFTP server on loopback, on its own thread (the test code is synchronous)."""
    runner = ThreadedSftpSandbox(
        SftpSandbox(tmp_path / "sftp", passwords={USER: PASSWORD}, events_file=tmp_path / "ev")
    )
    yield runner.start()
    runner.stop()
