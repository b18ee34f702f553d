"""rclone_process_ratio and rclone_server_ratio: passeur against `rclone copy` (Debian's
rclone), uploading the same 1,000 files of about 30 KB to the same SFTP server (the
sandbox server, bench/servers.py, a process of its own), 32 transfers at a time
(`--transfers 32`; passeur's worker `--concurrency 32` and the installation's 32 in flight).

Two clocks, paired in alternating rounds (median of the ratios):

* process: from the process's start to its exit; passeur is `passeur worker --drain`
  started on exports already released (so it delivers everything, then exits), rclone is
  `rclone copy FOLDER :sftp:…`;
* server: from the first file to the last, on the server's clock: the files' modification
  times on the server's disk (each one's last write; rclone is told not to set them).

rclone is used as a careful user would: the server's host key checked against a
known_hosts file, the password obscured, no remote shell command (`--sftp-disable-hashcheck`,
as passeur runs none), its other defaults. Both uploads are checked on the server: every
file there, whole.

    python -m bench.sftp_rclone [--files 1000] [--transfers 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.harness import make_app, save
from bench.population import held_exports, release
from bench.servers import SftpServer, sftp_server
from bench.workers import worker_env
from passeur.formats.corpus import make_padded_pdf

USER, PASSWORD = "bench", "bench-password"


def uploaded(folder: Path, sizes: set[int], files: int) -> list[Path]:
    """The files put in place under `folder` (staging names left out), checked."""
    found = [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part")]
    if len(found) != files or {p.stat().st_size for p in found} - sizes:
        raise RuntimeError(f"{len(found)} of {files} files on the server, or some truncated")
    return found


@dataclass
class Clocks:
    process: float  # files per second, process start → exit
    server: float  # files per second, first file → last, on the server's clock
    before: float  # seconds from the process's start to its first file
    after: float  # seconds from its last file to its exit


def clocks(found: list[Path], started: float, ended: float) -> Clocks:
    """The rates and, around the uploads, the process's start-up and exit; the server's
    clock is the files' last writes (the same machine's wall clock)."""
    stamps = sorted(p.stat().st_mtime_ns / 1e9 for p in found)
    return Clocks(
        len(found) / (ended - started), (len(stamps) - 1) / (stamps[-1] - stamps[0]),
        stamps[0] - started, ended - stamps[-1],
    )  # fmt: skip


def through_passeur(
    folder: Path, server: SftpServer, payloads: list[bytes], transfers: int, round_: int
) -> Clocks:
    target = f"passeur{round_}"
    app = make_app(folder / f"passeur{round_}", worker_concurrency=transfers,
                   worker_batch=transfers)  # fmt: skip
    try:
        values = {
            "host": "127.0.0.1", "port": str(server.port), "username": USER,
            "password": PASSWORD, "host_key": server.public_key, "upload_path": f"/{target}",
            "parallel": str(transfers),
        }  # fmt: skip
        release(app, held_exports(app, "sftp", values, payloads))
        env = worker_env(app)
    finally:
        app.close()
    command = [sys.executable, "-m", "passeur", "worker", "--drain", "--concurrency",
               str(transfers)]  # fmt: skip
    started, ended = _timed(command, env)
    found = uploaded(server.root / target, {len(p) for p in payloads}, len(payloads))
    return clocks(found, started, ended)


def through_rclone(
    folder: Path, server: SftpServer, source: Path, files: int, transfers: int, round_: int
) -> Clocks:
    target = f"rclone{round_}"
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {server.public_key}\n")
    obscured = subprocess.run(
        ["rclone", "obscure", PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    command = [
        "rclone", "copy", str(source), f":sftp:{target}", "--sftp-host", "127.0.0.1",
        "--sftp-port", str(server.port), "--sftp-user", USER, "--sftp-pass", obscured,
        "--sftp-known-hosts-file", str(known_hosts), "--sftp-disable-hashcheck",
        "--sftp-set-modtime=false", "--transfers", str(transfers), "--config", "/dev/null",
    ]  # fmt: skip
    started, ended = _timed(command, None)
    sizes = {p.stat().st_size for p in source.iterdir()}
    found = uploaded(server.root / target, sizes, files)
    return clocks(found, started, ended)


def _timed(command: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    """Run to its end; the wall clock at its start and at its exit."""
    start = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    end = time.time()
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
    return start, end


def run(files: int, transfers: int, rounds: int = 3) -> dict[str, float]:
    payloads = [make_padded_pdf(30 * 1024, seed=n) for n in range(files)]
    seen: dict[str, list[Clocks]] = {"passeur": [], "rclone": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "files"
        source.mkdir()
        for n, data in enumerate(payloads):
            (source / f"f{n}.pdf").write_bytes(data)
        with sftp_server(folder / "sftp", USER, PASSWORD) as server:
            for n in range(rounds):
                # Alternate who goes first, so that neither always meets a warmer server.
                if n % 2 == 0:
                    mine = through_passeur(folder, server, payloads, transfers, n)
                    theirs = through_rclone(folder, server, source, files, transfers, n)
                else:
                    theirs = through_rclone(folder, server, source, files, transfers, n)
                    mine = through_passeur(folder, server, payloads, transfers, n)
                seen["passeur"].append(mine)
                seen["rclone"].append(theirs)
                print(f"  round {n + 1}: passeur {_describe(mine)}", flush=True)
                print(f"  round {n + 1}: rclone  {_describe(theirs)}", flush=True)
    pairs = list(zip(seen["passeur"], seen["rclone"], strict=True))
    figures: dict[str, float] = {
        "rclone_process_ratio": statistics.median(m.process / t.process for m, t in pairs),
        "rclone_server_ratio": statistics.median(m.server / t.server for m, t in pairs),
        "rclone_transfers": transfers,
    }
    for who, outcomes in seen.items():
        prefix = "rclone" if who == "rclone" else "rclone_passeur"
        for name in ("process", "server"):
            figures[f"{prefix}_files_per_s_{name}"] = statistics.median(
                getattr(o, name) for o in outcomes
            )
        for name in ("before", "after"):
            figures[f"{prefix}_s_{name}_files"] = statistics.median(
                getattr(o, name) for o in outcomes
            )
    return figures


def _describe(c: Clocks) -> str:
    return (
        f"{c.process:.0f} files/s start to exit, {c.server:.0f} first to last file on the "
        f"server; {c.before:.2f} s from start to the first file, {c.after:.2f} s from the "
        "last to exit"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--transfers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.files, args.transfers, args.rounds)
    print(
        f"SFTP against rclone copy, {args.transfers} transfers: process start to exit "
        f"{figures['rclone_process_ratio']:.2f} (target >= 1.0), first to last file on the "
        f"server {figures['rclone_server_ratio']:.2f} (target >= 3)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
