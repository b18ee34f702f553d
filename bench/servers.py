"""Target servers in processes of their own, so that they do not share a CPU core's
interpreter with what is measured."""

from __future__ import annotations

import contextlib
import json
import os
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
    pid: int = 0

    def cpu_seconds(self) -> float:
        """The server process's CPU so far (user and system), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def sftp_server(
    root: Path, user: str, password: str, events: Path | None = None
) -> Iterator[SftpServer]:
    ready = root.parent / f"{root.name}.ready"
    extra = ["--events-file", str(events)] if events is not None else []
    process = subprocess.Popen(
        [
            sys.executable, "-m", "passeur.sandbox.sftp_server", "--root", str(root),
            "--user", f"{user}:{password}", "--ready-file", str(ready), *extra,
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
        yield SftpServer(int(port), fingerprint, key, root / user, process.pid)
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class HttpServer:
    port: int
    journal: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self) -> int:
        if not self.journal.exists():
            return 0
        return sum(1 for line in self.journal.read_text().splitlines() if '"accepted"' in line)


def start_http_receiver(
    folder: Path, secret: str, *, port: int = 0, failure_ratio: float = 0.0,
    failures: str = "503", seed: int = 1,
) -> HttpServer:  # fmt: skip
    """A receiver process; its journal (JSON lines) survives restarts on the same port."""
    folder.mkdir(parents=True, exist_ok=True)
    ready = folder / "receiver.ready"
    ready.unlink(missing_ok=True)
    journal = folder / "receiver.jsonl"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "passeur.sandbox.http_receiver", "--secret", secret,
            "--port", str(port), "--journal", str(journal), "--ready-file", str(ready),
            "--failure-ratio", str(failure_ratio), "--failures", failures, "--seed", str(seed),
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not ready.exists() or not ready.read_text().endswith("\n"):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the HTTP receiver did not start")
        time.sleep(0.05)
    return HttpServer(int(ready.read_text()), journal, process)


@contextlib.contextmanager
def http_receiver(folder: Path, secret: str, **options: object) -> Iterator[HttpServer]:
    server = start_http_receiver(folder, secret, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(10)


@contextlib.contextmanager
def cloud_stand_in(slug: str, folder: Path) -> Iterator[dict[str, str]]:
    """A cloud folder's stand-in in its own process; the settings that point passeur at it."""
    folder.mkdir(parents=True, exist_ok=True)
    ready = folder / f"{slug}.ready"
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "passeur.sandbox.serve", slug, "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() or not ready.read_text().endswith("\n"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the {slug} stand-in did not start")
            time.sleep(0.05)
        yield json.loads(ready.read_text())
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def s3_server(bucket: str = "passeur") -> Iterator[dict[str, str]]:
    """The local S3 server (moto) in its own process with one bucket; the settings that
    put passeur's blobs there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "passeur.sandbox.s3_server", "--port", "0", "--bucket", bucket],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "S3 on http://127.0.0.1:port, bucket …" once up
        if not line.startswith("S3 on "):
            raise RuntimeError("the S3 server did not start")
        yield {
            "blob_url": f"s3://{bucket}/blobs",
            "s3_endpoint": line.split()[2].rstrip(","),
            "s3_access_key_id": "bench",
            "s3_secret_access_key": "bench",
        }
    finally:
        process.terminate()
        process.wait(10)


SSHD = "/usr/sbin/sshd"


@dataclass
class OpensshServer:
    """OpenSSH's sshd on a loopback port, serving `internal-sftp` only, with a throwaway host
    key and the current user's login by a throwaway key: no system service, no password."""

    port: int
    public_key: str
    user: str
    client_key: str  # the private key, OpenSSH's format
    key_file: Path
    root: Path  # where uploads go (an absolute path on the same machine)
    pid: int

    def cpu_seconds(self) -> float:
        """The CPU of the server's processes: the listener's own and that of its children
        (one per connection) that have exited and been waited for. Call after `settle`."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime, stime, and the waited-for children's cutime, cstime
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every connection's process has exited (a client's exit does not
        wait for them), so that their CPU is counted in this run and not the next."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        deadline = time.monotonic() + timeout
        while children.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.02)


def sshd_installed() -> bool:
    return Path(SSHD).exists()


@contextlib.contextmanager
def openssh_server(folder: Path) -> Iterator[OpensshServer]:
    import getpass
    import socket

    import asyncssh

    folder.mkdir(parents=True, exist_ok=True)
    root = folder / "files"
    root.mkdir(exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    user_key = asyncssh.generate_private_key("ssh-ed25519")
    (folder / "host_key").write_bytes(host_key.export_private_key())
    (folder / "host_key").chmod(0o600)
    key_file = folder / "user_key"
    key_file.write_bytes(user_key.export_private_key())
    key_file.chmod(0o600)
    (folder / "authorized_keys").write_bytes(user_key.export_public_key())
    with socket.socket() as probe:  # a free port (sshd cannot report one it chose)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = folder / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile none\nStrictModes no\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n"
        "ForceCommand internal-sftp\nMaxStartups 100\nMaxSessions 100\nLogLevel ERROR\n"
    )
    if os.geteuid() == 0:  # as root, sshd insists on its privilege separation folder
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=(folder / "sshd.log").open("w"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as knock:
                if knock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"sshd did not start: {(folder / 'sshd.log').read_text()}")
            time.sleep(0.05)
        yield OpensshServer(
            port, host_key.export_public_key("openssh").decode().strip(), getpass.getuser(),
            user_key.export_private_key().decode(), key_file, root, process.pid,
        )  # fmt: skip
    finally:
        process.terminate()
        process.wait(10)
