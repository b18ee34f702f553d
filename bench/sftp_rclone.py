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


def server_rate(found: list[Path]) -> float:
    """Files per second from the first file's last write to the last one's."""
    stamps = sorted(p.stat().st_mtime_ns for p in found)
    return (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1e9)


def through_passeur(
    folder: Path, server: SftpServer, payloads: list[bytes], transfers: int, round_: int
) -> tuple[float, float]:
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
    seconds = _timed(command, env)
    found = uploaded(server.root / target, {len(p) for p in payloads}, len(payloads))
    return len(payloads) / seconds, server_rate(found)


def through_rclone(
    folder: Path, server: SftpServer, source: Path, files: int, transfers: int, round_: int
) -> tuple[float, float]:
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
    seconds = _timed(command, None)
    sizes = {p.stat().st_size for p in source.iterdir()}
    found = uploaded(server.root / target, sizes, files)
    return files / seconds, server_rate(found)


def _timed(command: list[str], env: dict[str, str] | None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
    return seconds


def run(files: int, transfers: int, rounds: int = 3) -> dict[str, float]:
    payloads = [make_padded_pdf(30 * 1024, seed=n) for n in range(files)]
    process_ratios, server_ratios = [], []
    rates: dict[str, list[float]] = {"passeur": [], "rclone": [], "passeur_s": [], "rclone_s": []}
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
                process_ratios.append(mine[0] / theirs[0])
                server_ratios.append(mine[1] / theirs[1])
                rates["passeur"].append(mine[0])
                rates["rclone"].append(theirs[0])
                rates["passeur_s"].append(mine[1])
                rates["rclone_s"].append(theirs[1])
                print(
                    f"  round {n + 1}: process start to exit: passeur {mine[0]:.0f} files/s, "
                    f"rclone {theirs[0]:.0f}; first to last file on the server: passeur "
                    f"{mine[1]:.0f}, rclone {theirs[1]:.0f}",
                    flush=True,
                )
    return {
        "rclone_process_ratio": statistics.median(process_ratios),
        "rclone_server_ratio": statistics.median(server_ratios),
        "rclone_files_per_s_process": statistics.median(rates["rclone"]),
        "rclone_files_per_s_server": statistics.median(rates["rclone_s"]),
        "rclone_passeur_files_per_s_process": statistics.median(rates["passeur"]),
        "rclone_passeur_files_per_s_server": statistics.median(rates["passeur_s"]),
        "rclone_transfers": transfers,
    }


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
