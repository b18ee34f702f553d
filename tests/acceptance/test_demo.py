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
    in_cloud = {
        slug: [line for line in done.stdout.splitlines() if f"{slug}:/Invoice_import/" in line]
        for slug in ("dropbox", "google_drive", "onedrive")
    }
    in_octopus = [line for line in done.stdout.splitlines() if "octopus:dossier 101/" in line]
    assert in_octopus, "the first client's documents reach its Octopus dossier too"
    assert "Octopus added to" in done.stdout and "dossier 101" in done.stdout
    in_exact = [line for line in done.stdout.splitlines() if "exact:123456 " in line]
    assert "Exact Online added to" in done.stdout and "company 123456" in done.stdout
    assert any(" / " in line for line in in_exact), "the second client's files reach Exact"
    assert any("purchase entry, journal 600" in line for line in in_exact)
    exact_delivered = [line for line in delivered if "exact:123456/documents/" in line]
    assert exact_delivered
    in_packages = len(in_octopus) + len(exact_delivered)
    assert len(delivered) == len(landed) + sum(map(len, in_cloud.values())) + in_packages >= 18
    for slug, lines in in_cloud.items():
        assert lines, f"a client's documents reach its {slug} too"
        assert {line.split("/")[3] for line in lines} <= {"AP", "AR", "Statements"}
    assert "client_action_needed" in done.stdout  # one purchase still waits for its client
    folders = {p.parent.name for p in landed}
    assert folders == {"purchases", "sales", "cod"}
