"""Content-addressed blob store: document files live under their SHA-256, written once.

A folder store keeps a blob at `<root>/ab/<sha256>` (`ab`: its first two hex digits). A
store made before 2026-12 keeps them at `<root>/ab/cd/<sha256>` and goes on doing so (its
`layout` file is missing and it has blob folders); either is read whatever the store's
layout. One level instead of two because a new folder costs a file system as much as a
new file, and with 65,536 folders at the second level nearly every blob of a store
under a few hundred thousand made one (docs/decisions.md, issue 15).

A blob is written to a temp file, renamed to its name, then flushed to disk (content and
name) before `put` or `publish` returns, so the database row that refers to it commits only
once it is safe. A crash before the flush can leave a name whose content never reached the
disk; no row refers to it, and the next store of the same content finds it damaged (its
digest no longer matches) and writes it again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from passeur.domain.errors import InvalidInput

if TYPE_CHECKING:
    import ctypes

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[0-9a-f]{2}")
LAYOUT = "layout"  # the file, in a folder store's root, that names its layout
FLAT = "ab/<sha256>"


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
        self._staging = os.path.join(self._root, "staging")
        # Folders known to exist: a bulk upload asks for the same ones again and again, and
        # a mkdir that finds its folder costs a system call each (see `_rename`).
        self._folders: set[str] = set()
        self._flat: bool | None = None  # the layout, read on first use

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
            if self._intact(sha):
                os.unlink(temp)
                return sha, size
            final = self._name(sha)
            folders = self._rename(temp, final)
            _fsync(final)  # its content, and on most file systems the rename with it
            for folder in sorted(folders, key=len, reverse=True):  # the deepest first
                _fsync(folder)
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
        if self._intact(sha):
            return Staged(sha, len(data), "")
        temp = self._temp_name(sha)
        try:
            try:
                _write_new(temp, data)
            except FileNotFoundError:  # the staging folder went away (wiped by hand)
                self._folders.discard(self._staging)
                temp = self._temp_name(sha)
                _write_new(temp, data)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        return Staged(sha, len(data), temp)

    def publish(self, staged: Sequence[Staged]) -> None:
        """Store staged blobs under their names, with one flush to disk for all of them
        instead of one per blob."""
        renamed: set[str] = set()
        folders: set[str] = set()  # the folders whose names changed
        try:
            for blob in staged:
                if not blob.temp:
                    continue
                final = self._name(blob.sha256)
                if final in renamed:  # the same content twice in the batch
                    os.unlink(blob.temp)
                    continue
                folders |= self._rename(blob.temp, final)
                renamed.add(final)
            if renamed:
                flush_to_disk(self.root, files=renamed, folders=folders)
        except BaseException:
            self.discard(staged)
            raise

    def discard(self, staged: Sequence[Staged]) -> None:
        """Forget staged blobs (those already renamed stay: nothing refers to them)."""
        for blob in staged:
            if blob.temp and os.path.exists(blob.temp):
                os.unlink(blob.temp)

    def open(self, sha256: str) -> BinaryIO:
        # String paths: a worker opens a blob per delivery, and pathlib costs ~10 µs.
        name, other = self._names(sha256)
        try:
            return open(name, "rb")
        except FileNotFoundError:
            return open(other, "rb")

    def exists(self, sha256: str) -> bool:
        return any(os.path.exists(name) for name in self._names(sha256))

    def size(self, sha256: str) -> int | None:
        """The stored blob's size, None when there is none."""
        for name in self._names(sha256):
            try:
                return os.stat(name).st_size
            except FileNotFoundError:
                continue
        return None

    def check(self) -> None:
        """Raise BlobUnavailable unless blobs can be written here (readiness)."""
        if not os.access(self.root if self.root.exists() else self.root.parent, os.W_OK):
            raise BlobUnavailable(f"cannot write in the blob folder {self.root}")

    async def opener(self, sha256: str, size: int) -> Opener:
        """How a delivery on the event loop opens the blob (a local read is quick)."""
        return lambda: self.open(sha256)

    def names(self) -> Iterable[str]:
        """Every stored blob's SHA-256 (for a migration), in either layout, never the
        staged ones."""
        for first in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            for entry in sorted(first.iterdir()):
                if _SHA256.fullmatch(entry.name):
                    yield entry.name
                elif _PREFIX.fullmatch(entry.name) and entry.is_dir():
                    for blob in sorted(entry.iterdir()):
                        if _SHA256.fullmatch(blob.name):
                            yield blob.name

    def _name(self, sha256: str) -> str:
        """Where the blob goes in this store's layout (a string, not a Path: intake names
        every blob several times, and pathlib's joins cost more than the system calls)."""
        return self._names(sha256)[0]

    def _names(self, sha256: str) -> tuple[str, str]:
        """The blob's name in this store's layout, then in the other one."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        flat = os.path.join(self._root, sha256[:2], sha256)
        nested = os.path.join(self._root, sha256[:2], sha256[2:4], sha256)
        if self._flat is None:
            self._flat = _is_flat(self._root)
        return (flat, nested) if self._flat else (nested, flat)

    def _temp_name(self, stem: str) -> str:
        """A new name in the staging folder (made once per store; a new store names its
        layout first)."""
        if self._staging not in self._folders:
            os.makedirs(self._staging, exist_ok=True)
            if self._flat is None:
                self._flat = _is_flat(self._root)
            if self._flat:
                _name_layout(self._root)
            self._folders.add(self._staging)
        return os.path.join(self._staging, f"{stem}.{secrets.token_hex(8)}")

    def _rename(self, temp: str, final: str) -> set[str]:
        """Move a staged file to its name; the folders whose entries changed (the blob's,
        and those created for it), for the flush."""
        folder = os.path.dirname(final)
        changed = {folder}
        if folder not in self._folders:
            changed |= _made(folder)
            self._folders.add(folder)
        try:
            os.replace(temp, final)
        except FileNotFoundError:  # its folder went away since (a store wiped by hand)
            if not os.path.exists(temp):
                raise
            changed |= _made(folder)
            os.replace(temp, final)
        return changed

    def _intact(self, sha256: str) -> bool:
        """Whether the blob is already stored whole under this store's name for it (a
        repeat is rare: reading it back is cheap next to keeping a blob a crash damaged).
        A copy in the other layout is not looked for: writing it again costs no more."""
        try:
            handle = open(self._name(sha256), "rb")  # noqa: SIM115 (a miss is the usual case)
        except FileNotFoundError:
            return False
        digest = hashlib.sha256()
        with handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == sha256


def _created(name: str) -> BinaryIO:
    """A new file only this process writes (never one that exists), readable by us alone."""
    return os.fdopen(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _is_flat(root: str) -> bool:
    """Whether a folder store keeps its blobs at `ab/<sha256>`: it says so, or it has no
    blob yet (a store from before keeps them at `ab/cd/<sha256>`)."""
    try:
        with open(os.path.join(root, LAYOUT), encoding="utf-8") as marker:
            return marker.read().strip() == FLAT
    except FileNotFoundError:
        pass
    try:
        return not any(_PREFIX.fullmatch(entry) for entry in os.listdir(root))
    except FileNotFoundError:
        return True


def _name_layout(root: str) -> None:
    """Write the `layout` file of a store that has none (before its first blob, so that
    no process takes a store of the new layout for an older one)."""
    marker = os.path.join(root, LAYOUT)
    if os.path.exists(marker):
        return
    temp = f"{marker}.{secrets.token_hex(8)}"
    _write_new(temp, f"{FLAT}\n".encode())
    os.replace(temp, marker)
    _fsync(marker)
    _fsync(root)


def _write_new(name: str, data: bytes) -> None:
    """A new file holding `data` (see `_created`), written without a buffer in between."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _made(folder: str) -> set[str]:
    """Make a folder and the missing ones above it; the folders whose entries changed
    (the parents of those made), which a flush must reach."""
    try:
        os.mkdir(folder)
    except FileExistsError:  # made before (or by another writer meanwhile)
        return set()
    except FileNotFoundError:  # its parent first
        changed = _made(os.path.dirname(folder))
        try:
            os.mkdir(folder)
        except FileExistsError:
            return changed
        return changed | {os.path.dirname(folder)}
    return {os.path.dirname(folder)}


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_to_disk(
    root: Path, *, files: Iterable[str | Path], folders: Iterable[str | Path]
) -> None:
    """What was written under `root` is on disk when this returns: one syncfs(2) of its
    file system on Linux, whatever the number of files; elsewhere an fsync of each file
    (its content) and of each folder (the names renamed into it)."""
    root_fd = os.open(root, os.O_RDONLY)
    try:
        libc = _libc()
        if libc is not None and libc.syncfs(root_fd) == 0:
            return
    finally:
        os.close(root_fd)
    for path in [*files, *folders]:
        _fsync(path)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library when it has syncfs (Linux). Looked up on first use, not at import:
    finding it runs `ldconfig -p`, which every command would pay for at start-up."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "syncfs") else None
