"""A taken port stops the demo before it does any work, with one line saying what to do."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_a_taken_port_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "passeur", "demo", "--dir", "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "PASSEUR_WEB_PORT" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "demo").exists(), "nothing was prepared"


def test_serve_says_the_same_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "passeur", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={"PASSEUR_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"},
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "--port" in done.stderr
