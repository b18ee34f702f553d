"""`passeur demo --check`: the demo scenario, unattended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_check_delivers_everything_byte_for_byte(tmp_path: Path) -> None:
    # A relative folder, as `make demo` uses (var/demo): the SFTP sandbox must cope.
    done = subprocess.run(
        [sys.executable, "-m", "passeur", "demo", "--check", "--dir", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every export delivered, every file identical" in done.stdout
    delivered = [line for line in done.stdout.splitlines() if " delivered " in line]
    landed = [p for p in (tmp_path / "demo" / "sftp").rglob("*") if p.is_file()]
    in_dropbox = [line for line in done.stdout.splitlines() if "dropbox:/Invoice_import/" in line]
    assert len(delivered) == len(landed) + len(in_dropbox) and len(landed) >= 15
    assert in_dropbox, "the first client's documents reach its Dropbox too"
    assert {line.split("/")[3] for line in in_dropbox} <= {"AP", "AR", "Statements"}
    assert "client_action_needed" in done.stdout  # one purchase still waits for its client
    folders = {p.parent.name for p in landed}
    assert folders == {"purchases", "sales", "cod"}
