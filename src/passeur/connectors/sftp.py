"""SFTP: upload each document to a folder on the partner's server.

Uploads go to a temporary name in the target folder and are renamed into place, so a
reader never sees half a file and a redelivery replaces the same file instead of adding
a second. The server's host key is pinned: the first "test connection" shows its SHA-256
fingerprint without sending any credential, and once pinned a different key is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import posixpath
import secrets
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

import asyncssh

from passeur.connectors.base import CheckResult, Connector, Parcel, ParcelFile, Receipt
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    TransientError,
)
from passeur.connectors.sftp_extension import EXTENSION
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.domain.paths import PathTemplate, check_lengths, join_under

CHUNK = 256 * 1024
CONNECT_TIMEOUT = 15.0
# asyncssh's own ciphers, AES-GCM first: with the processor's AES instructions it costs
# about two thirds of the CPU of ChaCha20-Poly1305 (which asyncssh puts first) per upload,
# on our side and the server's. A server that offers no AES-GCM gets the others.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
REFUSED_MEMORY = 300.0  # seconds a refused login is remembered (no second knock)


def fingerprint(key: asyncssh.SSHKey) -> str:
    return str(key.get_fingerprint("sha256"))


def _connected(target: Target) -> str:
    return f"Connected to {target.get('host')} as {target.get('username')}"


def pinned_fingerprint(pin: str) -> str:
    if pin.startswith("SHA256:"):
        return pin
    return fingerprint(asyncssh.import_public_key(pin))


@dataclass
class _HostKeyGuard(asyncssh.SSHClient):
    """Accepts the server only if its key matches the pin; remembers what it saw."""

    pin: str | None
    seen: asyncssh.SSHKey | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.seen = key
        return self.pin is not None and fingerprint(key) == pinned_fingerprint(self.pin)


class _StaleConnection(Exception):
    """A reused connection was found dead before any byte went out."""


@dataclass
class _Session:
    connection: asyncssh.SSHClientConnection
    sftp: asyncssh.SFTPClient
    made_dirs: set[str] = field(default_factory=set)

    def is_open(self) -> bool:
        return not self.connection.is_closed()


class SftpConnector(Connector):
    extension = EXTENSION

    def __init__(self, *, network: NetworkPolicy | None = None) -> None:
        super().__init__(network=network)
        self._sessions: dict[_Key, _Session] = {}
        self._locks: dict[_Key, asyncio.Lock] = {}
        # Credentials the server just refused: tries waiting on the same login fail at
        # once instead of knocking again (servers lock accounts after repeated failures).
        self._refused: dict[_Key, tuple[float, NeedsReauth]] = {}

    async def check(self, target: Target) -> CheckResult:
        pin = target.get("host_key")
        if not pin:
            key = await _peek_host_key(target)
            return CheckResult(
                ok=False,
                message=f"The server presents host key {fingerprint(key)}. Confirm it to pin it.",
                details={
                    "host_key": key.export_public_key("openssh").decode().strip(),
                    "fingerprint": fingerprint(key),
                    "pinned": False,
                },
            )
        session = await self._session(target, _session_key(target), fresh=True)
        root = target.get("root") or "."
        try:
            attrs = await session.sftp.stat(root)
        except asyncssh.SFTPError as exc:
            raise _classify(exc, f"root folder {root!r}") from None
        if not attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise Misconfigured(f"root folder {root!r} is not a folder")
        await _probe_write(session.sftp, root)
        return CheckResult(
            ok=True,
            message=f"{_connected(target)}; host key {pinned_fingerprint(pin)} matches the "
            "pinned one.",
            details={"fingerprint": pinned_fingerprint(pin), "pinned": True},
        )

    def pinned(self, target: Target, result: CheckResult) -> CheckResult:
        shown = result.details.get("fingerprint")
        return replace(result, message=f"{_connected(target)}; host key {shown} pinned.")

    pin_follows = frozenset({"host"})  # an integration with its own host pins its own key

    def pin(self, target: Target, seen: CheckResult, confirmed: str) -> dict[str, Any]:
        """The host key `check` showed, if it is the one whose fingerprint the person
        confirmed ("SHA256:…"): pinned only if the server still presents that very key."""
        if (
            not confirmed.startswith("SHA256:")
            or len(confirmed) < 20
            or any(c.isspace() for c in confirmed)
        ):
            raise InvalidInput(
                "give the fingerprint as test connection shows it: SHA256:…", field="trust"
            )
        if seen.ok:  # pinned already: the person must have confirmed that very key
            if not hmac.compare_digest(str(seen.details.get("fingerprint", "")), confirmed):
                raise InvalidInput(
                    f"host key {seen.details.get('fingerprint')} is pinned, not {confirmed}: "
                    "nothing changed",
                    field="trust",
                )
            return {}
        presented = seen.details.get("host_key")
        if not presented:
            return {}
        shown = pinned_fingerprint(presented)
        if not hmac.compare_digest(shown, confirmed):
            raise InvalidInput(
                f"the server now presents host key {shown}, not {confirmed}: nothing was "
                "pinned. Compare the fingerprint with the server's administrator first",
                field="trust",
            )
        return {"host_key": presented}

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        if not target.get("host_key"):
            raise Misconfigured("the server's host key is not pinned yet; run test connection")
        try:
            folder = upload_folder(target, parcel.variables)
            # The longest name written is the staging one; a server cannot take a longer
            # name on another try, so this needs a person (a path saved before the limits).
            check_lengths(posixpath.join(folder, _staging_name(parcel.main, parcel.export_key)))
        except InvalidInput as exc:
            raise Misconfigured(str(exc)) from None
        key = _session_key(target)
        try:
            return await self._upload(target, key, folder, parcel.main, parcel.export_key)
        except _StaleConnection:
            # A pooled connection died while idle: one fresh connection, then report.
            self._forget(key)
            return await self._upload(target, key, folder, parcel.main, parcel.export_key)

    @classmethod
    def destination(cls, target: Target, variables: dict[str, str], file_name: str) -> str:
        return posixpath.join(upload_folder(target, variables), file_name)

    async def _upload(
        self, target: Target, key: _Key, folder: str, file: ParcelFile, export_key: str
    ) -> Receipt:
        reused = key in self._sessions
        session = await self._session(target, key)
        final = posixpath.join(folder, file.name)
        staging = posixpath.join(folder, _staging_name(file, export_key))
        sftp = session.sftp
        written = 0
        try:
            if folder not in session.made_dirs:
                await sftp.makedirs(folder, exist_ok=True)
                session.made_dirs.add(folder)
            digest = hashlib.sha256()
            # A file that fits in one write request goes as one (block_size 0): asyncssh's
            # parallel writer would start a task and wait on it for that single request.
            single = min(CHUNK, sftp.limits.max_write_len)
            block, chunk_size = (0, single) if file.size <= single else (-1, CHUNK)
            async with sftp.open(staging, "wb", block_size=block) as remote:
                with file.open() as local:
                    while chunk := local.read(chunk_size):
                        await remote.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
            attrs = await sftp.stat(staging)
            if attrs.size != written:
                raise TransientError(f"upload of {final} is {attrs.size} bytes, expected {written}")
            if target.get("verify_readback"):
                await _verify_readback(sftp, staging, digest.hexdigest())
            await _rename_over(sftp, staging, final)
        except (asyncssh.SFTPConnectionLost, asyncssh.DisconnectError, ConnectionError) as exc:
            self._forget(key)
            if reused and written == 0:
                raise _StaleConnection() from exc
            raise TransientError(f"the connection was lost during the upload of {final}") from None
        except asyncssh.SFTPError as exc:
            raise _classify(exc, folder) from None
        return Receipt(
            location=final,
            size=written,
            sha256=digest.hexdigest(),
            details={"host": target.get("host")},
        )

    async def _session(self, target: Target, key: _Key, *, fresh: bool = False) -> _Session:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            session = self._sessions.get(key)
            if session is not None and session.is_open() and not fresh:
                return session
            if session is not None:
                session.connection.close()
            refused = self._refused.get(key)
            if refused and time.monotonic() - refused[0] < REFUSED_MEMORY:
                raise NeedsReauth(refused[1].message)
            try:
                session = await _connect(target)
            except NeedsReauth as exc:
                self._refused[key] = (time.monotonic(), exc)
                raise
            self._refused.pop(key, None)
            self._sessions[key] = session
            return session

    def _forget(self, key: _Key) -> None:
        session = self._sessions.pop(key, None)
        if session is not None:
            session.connection.close()

    async def close(self) -> None:
        for session in self._sessions.values():
            session.connection.close()
            with contextlib.suppress(Exception):
                await session.connection.wait_closed()
        self._sessions.clear()


_Key = tuple[object, ...]


def upload_folder(target: Target, variables: dict[str, str]) -> str:
    """The folder a document goes to: the upload path rendered, under the root folder."""
    template = PathTemplate.parse(target.get("upload_path") or "/")
    return join_under(target.get("root") or ".", template.render(variables))


def _session_key(target: Target) -> _Key:
    # Reused per installation, but a client override of host or user is its own connection.
    secrets = hashlib.sha256(repr(sorted(target.secrets.items())).encode()).hexdigest()
    return (
        target.installation_id,
        target.get("host"),
        target.get("port"),
        target.get("username"),
        target.get("host_key"),
        secrets,
    )


async def _connect(target: Target) -> _Session:
    guard = _HostKeyGuard(pin=target.get("host_key"))
    options: dict[str, object] = {
        "username": target.get("username"),
        "known_hosts": ([], [], []),  # nothing trusted up front: the guard decides
        "connect_timeout": CONNECT_TIMEOUT,
        "client_keys": None,
        "agent_path": None,
        "password": target.secrets.get("password") or None,
        "preferred_auth": "publickey,password",
        "keepalive_interval": 30,
        "encryption_algs": CIPHERS,
    }
    if target.secrets.get("private_key"):
        options["client_keys"] = [asyncssh.import_private_key(target.secrets["private_key"])]
    host, port = target.get("host"), int(target.get("port") or 22)
    try:
        connection, _ = await asyncssh.create_connection(
            lambda: guard,
            host,
            port,
            **options,
        )
        sftp = await connection.start_sftp_client()
    except asyncssh.HostKeyNotVerifiable:
        seen = fingerprint(guard.seen) if guard.seen else "no key"
        raise Misconfigured(
            f"host key mismatch: {host} presented {seen}, but "
            f"{pinned_fingerprint(target.get('host_key'))} is pinned; if the server's key "
            "really changed, pin the new one with test connection"
        ) from None
    except asyncssh.PermissionDenied:
        raise NeedsReauth(
            f"{host} refused the login of {target.get('username')!r} (wrong password or key)"
        ) from None
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise _network_error(host, port, exc) from None
    return _Session(connection=connection, sftp=sftp)


async def _peek_host_key(target: Target) -> asyncssh.SSHKey:
    """Read the server's host key without authenticating (no credential leaves us)."""
    guard = _HostKeyGuard(pin=None)
    host, port = target.get("host"), int(target.get("port") or 22)
    try:
        connection, _ = await asyncssh.create_connection(
            lambda: guard,
            host,
            port,
            username=target.get("username"),
            known_hosts=([], [], []),
            connect_timeout=CONNECT_TIMEOUT,
            client_keys=None,
            agent_path=None,
        )
        connection.close()
    except asyncssh.HostKeyNotVerifiable:
        pass
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise _network_error(host, port, exc) from None
    if guard.seen is None:
        raise TransientError(f"{host}:{port} did not present a host key")
    return guard.seen


async def _rename_over(sftp: asyncssh.SFTPClient, staging: str, final: str) -> None:
    try:
        await sftp.posix_rename(staging, final)
    except asyncssh.SFTPOpUnsupported:
        # Plain SFTP rename refuses to overwrite: remove the old copy first.
        with contextlib.suppress(asyncssh.SFTPNoSuchFile):
            await sftp.remove(final)
        await sftp.rename(staging, final)


async def _verify_readback(sftp: asyncssh.SFTPClient, path: str, expected: str) -> None:
    digest = hashlib.sha256()
    async with sftp.open(path, "rb") as remote:
        while chunk := await remote.read(CHUNK):
            digest.update(chunk if isinstance(chunk, bytes) else chunk.encode())
    if digest.hexdigest() != expected:
        raise TransientError(f"{path} reads back with a different SHA-256")


async def _probe_write(sftp: asyncssh.SFTPClient, root: str) -> None:
    """Write and remove a small file in the root: uploads create folders and files there,
    so a folder we may read but not write fails the test, not the first delivery."""
    probe = posixpath.join(root, f".passeur-check-{secrets.token_hex(6)}.part")
    try:
        async with sftp.open(probe, "wb") as f:
            await f.write(b"passeur connection test\n")
        await sftp.remove(probe)
    except asyncssh.SFTPError as exc:
        raise _classify(exc, f"root folder {root}") from None


def _staging_name(file: ParcelFile, export_key: str) -> str:
    return f".{file.name}.{export_key}.part"


def _classify(exc: asyncssh.SFTPError, where: str) -> ConnectorError:
    if "too long" in str(exc.reason).lower():
        # ENAMETOOLONG, as servers word it ("File name too long"): a server with a shorter
        # limit than the usual 255 bytes. Trying again cannot help; a person must shorten
        # the path.
        return Misconfigured(
            f"the server refused a name in {where!r} as too long ({exc.reason}); shorten "
            "the upload path's folder names or variables"
        )
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return Misconfigured(f"no permission to write in {where!r} on the server: {exc.reason}")
    if isinstance(exc, asyncssh.SFTPNoSuchFile):
        return Misconfigured(f"{where!r} does not exist on the server: {exc.reason}")
    if isinstance(exc, asyncssh.SFTPConnectionLost):
        return TransientError(f"the connection was lost during the upload: {exc.reason}")
    return TransientError(f"the server failed the upload into {where!r}: {exc.reason}")


def _network_error(host: str, port: int, exc: BaseException) -> ConnectorError:
    if isinstance(exc, socket.gaierror):
        return TransientError(f"cannot resolve {host!r}: {exc.strerror}")
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return TransientError(f"{host}:{port} did not answer in {CONNECT_TIMEOUT:.0f} s")
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
    return TransientError(f"cannot reach {host}:{port}: {reason}")
