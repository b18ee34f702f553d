"""A real SFTP server on loopback (asyncssh), with switches to inject the faults we test.

Each user is chrooted in `<root>/<username>`. Folders listed in `read_only` refuse writes
(the server runs as root, so file modes alone would not stop it); `name_max` refuses
longer names as "File name too long". `drop_after_bytes`
cuts the connection mid-upload, `write_delay` slows every write (to kill a worker during
one), every completed rename is appended to `events` (and to `events_file`) so tests
can count how many times a file was put in place, and the size of every write request to
`write_sizes`.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from passeur.sandbox.threaded import Threaded


@dataclass
class SftpFaults:
    read_only: set[str] = field(default_factory=set)  # folders (relative to the user root)
    drop_after_bytes: int | None = None
    write_delay: float = 0.0
    # A shorter limit on one name than the usual 255 bytes (eCryptfs: 143), refused the way
    # the operating system refuses it.
    name_max: int | None = None


class _Auth(asyncssh.SSHServer):
    def __init__(self, sandbox: SftpSandbox) -> None:
        self.sandbox = sandbox

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        expected = self.sandbox.passwords.get(username)
        accepted = expected is not None and expected == password
        self.sandbox.logins.append((username, accepted))
        return accepted

    def public_key_auth_supported(self) -> bool:
        return bool(self.sandbox.client_keys)

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        wanted = self.sandbox.client_keys.get(username)
        return wanted is not None and wanted.public_data == key.public_data


class _Files(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel, sandbox: SftpSandbox) -> None:
        self.sandbox = sandbox
        self.user = chan.get_extra_info("username")
        home = sandbox.root / self.user
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.written = 0
        super().__init__(chan, chroot=str(home).encode())

    def _relative(self, path: bytes) -> str:
        local = Path(os.fsdecode(self.map_path(path)))
        return str(local.relative_to(self.home))

    def _refuse_write(self, path: bytes) -> None:
        most = self.sandbox.faults.name_max
        if most is not None and any(len(name) > most for name in path.split(b"/")):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        relative = self._relative(path)
        for folder in self.sandbox.faults.read_only:
            if relative == folder or relative.startswith(folder.rstrip("/") + "/"):
                raise asyncssh.SFTPPermissionDenied(f"permission denied: {relative}")

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT):
            self._refuse_write(path)
        return super().open(path, pflags, attrs)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._refuse_write(path)
        super().mkdir(path, attrs)

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        faults = self.sandbox.faults
        if faults.write_delay:
            await asyncio.sleep(faults.write_delay)
        self.written += len(data)
        self.sandbox.write_sizes.append(len(data))
        if faults.drop_after_bytes is not None and self.written > faults.drop_after_bytes:
            self.connection.abort()  # the server vanishes mid-upload
            raise asyncssh.SFTPConnectionLost("connection dropped by the sandbox")
        return super().write(file_obj, offset, data)  # type: ignore[return-value]

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._refuse_write(newpath)
        super().rename(oldpath, newpath)
        self._record("rename", newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._refuse_write(newpath)
        super().posix_rename(oldpath, newpath)
        self._record("rename", newpath)

    def _record(self, action: str, path: bytes) -> None:
        self.sandbox.record({"user": self.user, "action": action, "path": self._relative(path)})


class SftpSandbox:
    """Start with `await sandbox.start()`; `port` and `host_key` tell clients where and who."""

    def __init__(
        self,
        root: Path,
        passwords: dict[str, str] | None = None,
        client_keys: dict[str, asyncssh.SSHKey] | None = None,
        host_key: asyncssh.SSHKey | None = None,
        events_file: Path | None = None,
        ciphers: Sequence[str] | None = None,
    ) -> None:
        self.root = root.resolve()  # asyncssh maps chrooted paths reliably only when absolute
        self.passwords = dict(passwords or {})
        self.client_keys = dict(client_keys or {})
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.faults = SftpFaults()
        self.events: list[dict[str, Any]] = []
        self.logins: list[tuple[str, bool]] = []  # password logins: (user, accepted)
        self.write_sizes: list[int] = []  # bytes in each write request, in order
        self.events_file = events_file
        self.ciphers = ciphers  # what the server offers (None: asyncssh's defaults)
        self._lock = threading.Lock()
        self._server: asyncssh.SSHAcceptor | None = None
        self.port = 0

    @property
    def public_host_key(self) -> str:
        return self.host_key.export_public_key("openssh").decode().strip()

    @property
    def fingerprint(self) -> str:
        return str(self.host_key.get_fingerprint("sha256"))

    def record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)
            if self.events_file is not None:
                with self.events_file.open("a") as handle:
                    handle.write(json.dumps(event) + "\n")

    async def start(self, port: int = 0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {}
        if self.ciphers is not None:
            options["encryption_algs"] = list(self.ciphers)
        self._server = await asyncssh.create_server(
            lambda: _Auth(self),
            "127.0.0.1",
            port,
            server_host_keys=[self.host_key],
            sftp_factory=lambda chan: _Files(chan, self),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            **options,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


# The SftpSandbox on its own event loop in a thread (synchronous tests, the demo).
ThreadedSftpSandbox = Threaded[SftpSandbox]


def main() -> None:
    """Run the sandbox on its own: `python -m passeur.sandbox.sftp_server --root DIR`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--user", action="append", default=[], help="name:password")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host-key", type=Path, help="private key file (made if missing)")
    parser.add_argument("--ready-file", type=Path, help="written with 'port fingerprint key'")
    parser.add_argument("--events-file", type=Path, help="JSON lines: every completed rename")
    args = parser.parse_args()
    key = None
    if args.host_key is not None:
        if not args.host_key.exists():
            made = asyncssh.generate_private_key("ssh-ed25519")
            args.host_key.write_bytes(made.export_private_key())
        key = asyncssh.read_private_key(str(args.host_key))
    passwords = dict(pair.split(":", 1) for pair in args.user)

    async def serve() -> None:
        sandbox = SftpSandbox(
            args.root, passwords=passwords, host_key=key, events_file=args.events_file
        )
        await sandbox.start(args.port)
        line = f"{sandbox.port} {sandbox.fingerprint} {sandbox.public_host_key}\n"
        if args.ready_file is not None:
            args.ready_file.write_text(line)
        print(line, end="", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
