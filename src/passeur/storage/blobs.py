"""Content-addressed blob store: document files live under their SHA-256, written once.

A blob is written to a temp file, renamed to its name, then flushed to disk (content and
name) before `put` or `publish` returns, so the database row that refers to it commits only
once it is safe. A crash before the flush can leave a name whose content never reached the
disk; no row refers to it, and the next store of the same content finds it damaged (its
digest no longer matches) and writes it again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from passeur.domain.errors import InvalidInput

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Staged:
    """A blob written aside, not yet under its name (see `stage`)."""

    sha256: str
    size: int
    temp: str  # "" when the blob is already stored whole


class BlobUnavailable(Exception):
    """The blob store could not be reached or answered an error (a 5xx, a cut connection,
    a timeout): nothing was stored; trying again later may work."""


class BlobDamaged(BlobUnavailable):
    """A blob read back whole does not match its SHA-256 (its name)."""


Opener = Callable[[], BinaryIO]


class BlobStore(Protocol):
    url: str  # where the blobs are (file://… or s3://…), without credentials
    # Whether `open` may be called on the event loop as it is (a local read is quick),
    # so that a worker need not ask `opener` for every file it sends.
    opens_quickly: bool

    def put(self, stream: BinaryIO, *, max_size: int) -> tuple[str, int]: ...
    def stage(self, data: bytes) -> Staged: ...
    def publish(self, staged: Sequence[Staged]) -> None: ...
    def discard(self, staged: Sequence[Staged]) -> None: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def exists(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int | None: ...
    def check(self) -> None: ...
    async def opener(self, sha256: str, size: int) -> Opener: ...


class LocalBlobStore:
    """Blobs in a local folder: `<root>/ab/cd/<sha256>`, written via a temp file and rename."""

    opens_quickly = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.resolve().as_uri()
        self._root = str(root)

    def put(self, stream: BinaryIO, *, max_size: int) -> tuple[str, int]:
        """Store the stream's bytes; refuse it (storing nothing) past `max_size` bytes."""
        digest = hashlib.sha256()
        size = 0
        temp = self._temp_name("stream")
        try:
            with _created(temp) as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_size:
                        raise InvalidInput(
                            f"the file is larger than the limit of {max_size // (1024 * 1024)} MB"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            final = self._path(sha)
            if self._intact(final, sha):
                os.unlink(temp)
                return sha, size
            _rename(temp, final)
            _fsync(final)  # its content, and on most file systems the rename with it
            _fsync(final.parent)
            return sha, size
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise

    def stage(self, data: bytes) -> Staged:
        """Write a blob aside (a bulk upload stages its files while it reads the next
        ones); `publish` stores it under its name, `discard` forgets it. Safe to call from
        another thread."""
        sha = hashlib.sha256(data).hexdigest()
        if self._intact(self._path(sha), sha):
            return Staged(sha, len(data), "")
        temp = self._temp_name(sha)
        try:
            with _created(temp) as out:
                out.write(data)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        return Staged(sha, len(data), temp)

    def publish(self, staged: Sequence[Staged]) -> None:
        """Store staged blobs under their names, with one flush to disk for all of them
        instead of one per blob."""
        renamed: set[Path] = set()
        try:
            for blob in staged:
                final = self._path(blob.sha256)
                if not blob.temp:
                    continue
                if final in renamed:  # the same content twice in the batch
                    os.unlink(blob.temp)
                    continue
                _rename(blob.temp, final)
                renamed.add(final)
            if renamed:
                flush_to_disk(self.root, files=renamed, folders={f.parent for f in renamed})
        except BaseException:
            self.discard(staged)
            raise

    def discard(self, staged: Sequence[Staged]) -> None:
        """Forget staged blobs (those already renamed stay: nothing refers to them)."""
        for blob in staged:
            if blob.temp and os.path.exists(blob.temp):
                os.unlink(blob.temp)

    def open(self, sha256: str) -> BinaryIO:
        # A string path: a worker opens a blob per delivery, and pathlib costs ~10 µs.
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return open(os.path.join(self._root, sha256[:2], sha256[2:4], sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def size(self, sha256: str) -> int | None:
        """The stored blob's size, None when there is none."""
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def check(self) -> None:
        """Raise BlobUnavailable unless blobs can be written here (readiness)."""
        if not os.access(self.root if self.root.exists() else self.root.parent, os.W_OK):
            raise BlobUnavailable(f"cannot write in the blob folder {self.root}")

    async def opener(self, sha256: str, size: int) -> Opener:
        """How a delivery on the event loop opens the blob (a local read is quick)."""
        return lambda: self.open(sha256)

    def names(self) -> Iterable[str]:
        """Every stored blob's SHA-256 (for a migration), never the staged ones."""
        for first in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            for second in sorted(first.glob("[0-9a-f][0-9a-f]")):
                for blob in sorted(second.iterdir()):
                    if _SHA256.fullmatch(blob.name):
                        yield blob.name

    def _path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _temp_name(self, stem: str) -> str:
        staging = self.root / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        return str(staging / f"{stem}.{secrets.token_hex(8)}")

    @staticmethod
    def _intact(final: Path, sha256: str) -> bool:
        """Whether the blob is already stored whole (a repeat is rare: reading it back is
        cheap next to keeping a blob a crash damaged)."""
        if not final.exists():
            return False
        digest = hashlib.sha256()
        with final.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == sha256


def _created(name: str) -> BinaryIO:
    """A new file only this process writes (never one that exists), readable by us alone."""
    return os.fdopen(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _rename(temp: str, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, final)


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_to_disk(root: Path, *, files: Iterable[Path], folders: Iterable[Path]) -> None:
    """What was written under `root` is on disk when this returns: one syncfs(2) of its
    file system on Linux, whatever the number of files; elsewhere an fsync of each file
    (its content) and of each folder (the names renamed into it)."""
    root_fd = os.open(root, os.O_RDONLY)
    try:
        if _LIBC is not None and _LIBC.syncfs(root_fd) == 0:
            return
    finally:
        os.close(root_fd)
    for path in [*files, *folders]:
        _fsync(path)


def _libc() -> ctypes.CDLL | None:
    """The C library when it has syncfs (Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "syncfs") else None


_LIBC = _libc()
