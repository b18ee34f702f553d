"""rclone_process_ratio and rclone_server_ratio: passeur against `rclone copy` (Debian's
rclone), uploading the same 1,000 files of about 30 KB to the same SFTP server, 32
transfers at a time (`--transfers 32`; passeur's worker `--concurrency 32` and the
installation's 32 in flight). Two servers: the sandbox server (bench/servers.py, asyncssh
in a process of its own; `rclone_…` figures) and, where it is installed (`make sshd`),
OpenSSH's sshd on a loopback port serving `internal-sftp`, with a throwaway host key and
the current user's login by a throwaway key (`rclone_openssh_…` figures).

Two clocks, paired in alternating rounds (median of the ratios):

* process: from the process's start to its exit; passeur is `passeur worker --drain`
  started on exports already released (so it delivers everything, then exits), rclone is
  `rclone copy FOLDER :sftp:…`;
* server: from the first file to the last, on the server's clock: the files' modification
  times on the server's disk (each one's last write; rclone is told not to set them).

Beside them, each round prints the client process's CPU per file (start-up included) and
the server's (for sshd, its per-connection processes once they have exited).

rclone is used as a careful user would: the server's host key checked against a
known_hosts file, the password obscured (a key file for sshd), no remote shell command
(`--sftp-disable-hashcheck`, as passeur runs none), its other defaults. Both uploads are
checked on the server: every file there, whole.

    python -m bench.sftp_rclone [--files 1000] [--transfers 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import make_app, save
from bench.population import held_exports, release
from bench.servers import (
    OpensshServer,
    SftpServer,
    openssh_server,
    sftp_server,
    sshd_installed,
)
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
    cpu_ms: float = 0.0  # the client process's CPU per file (user and system)
    server_cpu_ms: float = 0.0  # the server's CPU per file while the client ran


@dataclass
class Run:
    """One client process's run: its wall clock at start and exit, and the CPU it and
    the server spent meanwhile."""

    started: float
    ended: float
    cpu: float
    server_cpu: float


def clocks(found: list[Path], run: Run) -> Clocks:
    """The rates and, around the uploads, the process's start-up and exit; the server's
    clock is the files' last writes (the same machine's wall clock)."""
    stamps = sorted(p.stat().st_mtime_ns / 1e9 for p in found)
    n = len(found)
    return Clocks(
        n / (run.ended - run.started), (n - 1) / (stamps[-1] - stamps[0]),
        stamps[0] - run.started, run.ended - stamps[-1],
        1000 * run.cpu / n, 1000 * run.server_cpu / n,
    )  # fmt: skip


@dataclass
class Login:
    """How both clients reach one server: its address, its pinned host key, the login
    (a password for the sandbox, a key for sshd), and where on the server (and on this
    machine's disk) the uploads land."""

    name: str
    port: int
    host_key: str
    user: str
    landing: Path  # the folder on this machine's disk that the remote folder is
    remote: str  # the same folder as the server names it ("" is the login folder)
    password: str = ""
    key_file: Path | None = None
    cpu_seconds: Callable[[], float] = lambda: 0.0
    settle: Callable[[], None] = lambda: None  # wait for the server to finish a run

    def passeur_values(self, target: str, transfers: int) -> dict[str, str]:
        values = {
            "host": "127.0.0.1", "port": str(self.port), "username": self.user,
            "host_key": self.host_key, "upload_path": f"/{target}",
            "parallel": str(transfers), "root": self.remote or ".",
        }  # fmt: skip
        if self.key_file is not None:
            values["private_key"] = self.key_file.read_text()
        else:
            values["password"] = self.password
        return values

    def rclone_options(self, known_hosts: Path) -> list[str]:
        known_hosts.write_text(f"[127.0.0.1]:{self.port} {self.host_key}\n")
        options = [
            "--sftp-host", "127.0.0.1", "--sftp-port", str(self.port), "--sftp-user",
            self.user, "--sftp-known-hosts-file", str(known_hosts),
        ]  # fmt: skip
        if self.key_file is not None:
            return [*options, "--sftp-key-file", str(self.key_file)]
        obscured = subprocess.run(
            ["rclone", "obscure", self.password], capture_output=True, text=True, check=True
        ).stdout.strip()
        return [*options, "--sftp-pass", obscured]


def sandbox_login(server: SftpServer) -> Login:
    return Login("sandbox", server.port, server.public_key, USER, server.root, "",
                 password=PASSWORD, cpu_seconds=server.cpu_seconds)  # fmt: skip


def openssh_login(server: OpensshServer) -> Login:
    return Login("openssh", server.port, server.public_key, server.user, server.root,
                 str(server.root), key_file=server.key_file,
                 cpu_seconds=server.cpu_seconds, settle=server.settle)  # fmt: skip


def through_passeur(
    folder: Path, login: Login, payloads: list[bytes], transfers: int, round_: int
) -> Clocks:
    target = f"passeur-{login.name}{round_}"
    app = make_app(folder / target, worker_concurrency=transfers,
                   worker_batch=transfers)  # fmt: skip
    try:
        values = login.passeur_values(target, transfers)
        release(app, held_exports(app, "sftp", values, payloads))
        env = worker_env(app)
    finally:
        app.close()
    command = [sys.executable, "-m", "passeur", "worker", "--drain", "--concurrency",
               str(transfers)]  # fmt: skip
    run = _timed(command, env, login)
    found = uploaded(login.landing / target, {len(p) for p in payloads}, len(payloads))
    return clocks(found, run)


def through_rclone(
    folder: Path, login: Login, source: Path, files: int, transfers: int, round_: int
) -> Clocks:
    target = f"rclone-{login.name}{round_}"
    remote = f"{login.remote}/{target}" if login.remote else target
    command = [
        "rclone", "copy", str(source), f":sftp:{remote}",
        *login.rclone_options(folder / "known_hosts"), "--sftp-disable-hashcheck",
        "--sftp-set-modtime=false", "--transfers", str(transfers), "--config", "/dev/null",
    ]  # fmt: skip
    run = _timed(command, None, login)
    sizes = {p.stat().st_size for p in source.iterdir()}
    found = uploaded(login.landing / target, sizes, files)
    return clocks(found, run)


def _timed(command: list[str], env: dict[str, str] | None, server: Login) -> Run:
    """Run to its end: the wall clock at its start and at its exit, its CPU and the
    server's meanwhile."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = server.cpu_seconds()
    start = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    end = time.time()
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    server.settle()  # sshd's per-connection processes are counted once they have exited
    return Run(start, end, cpu, server.cpu_seconds() - served)


def run(files: int, transfers: int, rounds: int = 3) -> dict[str, float]:
    """Both servers where sshd is installed (`make sshd`), else the sandbox alone. The
    sandbox's figures are `rclone_…`, sshd's `rclone_openssh_…`."""
    payloads = [make_padded_pdf(30 * 1024, seed=n) for n in range(files)]
    figures: dict[str, float] = {"rclone_transfers": transfers}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "files"
        source.mkdir()
        for n, data in enumerate(payloads):
            (source / f"f{n}.pdf").write_bytes(data)
        with sftp_server(folder / "sftp", USER, PASSWORD) as server:
            login = sandbox_login(server)
            figures |= _rounds(folder, login, payloads, source, transfers, rounds, "rclone")
        if sshd_installed():
            with openssh_server(folder / "sshd") as sshd:
                login = openssh_login(sshd)
                figures |= _rounds(
                    folder, login, payloads, source, transfers, rounds, "rclone_openssh"
                )
        else:
            print("  sshd is not installed (make sshd): the sandbox server only", flush=True)
    return figures


def _rounds(
    folder: Path, login: Login, payloads: list[bytes], source: Path, transfers: int,
    rounds: int, prefix: str,
) -> dict[str, float]:  # fmt: skip
    seen: dict[str, list[Clocks]] = {"passeur": [], "rclone": []}
    files = len(payloads)
    for n in range(rounds):
        # Alternate who goes first, so that neither always meets a warmer server.
        if n % 2 == 0:
            mine = through_passeur(folder, login, payloads, transfers, n)
            theirs = through_rclone(folder, login, source, files, transfers, n)
        else:
            theirs = through_rclone(folder, login, source, files, transfers, n)
            mine = through_passeur(folder, login, payloads, transfers, n)
        seen["passeur"].append(mine)
        seen["rclone"].append(theirs)
        print(f"  {login.name} round {n + 1}: passeur {_describe(mine)}", flush=True)
        print(f"  {login.name} round {n + 1}: rclone  {_describe(theirs)}", flush=True)
    pairs = list(zip(seen["passeur"], seen["rclone"], strict=True))
    figures: dict[str, float] = {
        f"{prefix}_process_ratio": statistics.median(m.process / t.process for m, t in pairs),
        f"{prefix}_server_ratio": statistics.median(m.server / t.server for m, t in pairs),
    }
    for who, outcomes in seen.items():
        named = prefix if who == "rclone" else f"{prefix}_passeur"
        for name in ("process", "server"):
            figures[f"{named}_files_per_s_{name}"] = statistics.median(
                getattr(o, name) for o in outcomes
            )
        for name in ("before", "after"):
            figures[f"{named}_s_{name}_files"] = statistics.median(
                getattr(o, name) for o in outcomes
            )
        for name in ("cpu_ms", "server_cpu_ms"):
            figures[f"{named}_{name}_per_file"] = statistics.median(
                getattr(o, name) for o in outcomes
            )
    return figures


def _describe(c: Clocks) -> str:
    return (
        f"{c.process:.0f} files/s start to exit, {c.server:.0f} first to last file on the "
        f"server; {c.before:.2f} s from start to the first file, {c.after:.2f} s from the "
        f"last to exit; CPU per file {c.cpu_ms:.2f} ms, the server's {c.server_cpu_ms:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--transfers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.files, args.transfers, args.rounds)
    for server, prefix in (("the sandbox", "rclone"), ("sshd", "rclone_openssh")):
        if f"{prefix}_process_ratio" in figures:
            print(
                f"SFTP against rclone copy on {server}, {args.transfers} transfers: process "
                f"start to exit {figures[f'{prefix}_process_ratio']:.2f} (target >= 1.0), "
                f"first to last file on the server {figures[f'{prefix}_server_ratio']:.2f} "
                "(target >= 3)"
            )
    save("bench", figures)


if __name__ == "__main__":
    main()
