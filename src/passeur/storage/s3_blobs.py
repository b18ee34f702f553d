"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage…), through obstore.

Named by their SHA-256 like the local store: `<prefix>/ab/cd/<sha256>`, written once. An
S3 PUT is atomic (a multipart upload becomes visible only when it completes), so a blob
is either whole under its name or absent: a failed or cut upload leaves nothing a row
could refer to. Streamed both ways: a put reads its stream twice (once to name it, once
to send it, in parts of PART bytes), a read fetches the object a range at a time and
checks its SHA-256 once it has been read to the end.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from passeur.domain.errors import InvalidInput
from passeur.storage.blobs import (
    _SHA256,
    CHUNK,
    BlobDamaged,
    BlobUnavailable,
    Opener,
    Staged,
)

PART = 8 * 1024 * 1024  # bytes of a multipart upload's part (S3's minimum is 5 MB)
PARTS_IN_FLIGHT = 2  # parts sent at once: what an upload holds in memory at most
HELD = 1024 * 1024  # a delivery fetches a blob this small whole, without blocking its loop
RANGE = 4 * 1024 * 1024  # bytes a reader fetches per GET: what it holds in memory at most
# obstore raises its own errors, and Python's for some (FileNotFoundError for a 404,
# ConnectionError, TimeoutError for the transport).
_MISSING = (NotFoundError, FileNotFoundError)
_FAILED = (BaseError, OSError)


class S3BlobStore:
    opens_quickly = False  # a read is a request: `opener` fetches small files first

    def __init__(
        self,
        url: str,
        *,
        endpoint: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        timeout_seconds: float = 30.0,
        retries: int = 3,
    ) -> None:
        bucket, prefix = parse_s3_url(url)
        self.url = f"s3://{bucket}/{prefix}".rstrip("/")
        config: dict[str, Any] = {}
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        if access_key_id:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
        self.store = S3Store(
            bucket,
            prefix=prefix or None,
            client_options={
                "allow_http": endpoint.startswith("http://"),
                "timeout": timedelta(seconds=timeout_seconds),
                "connect_timeout": timedelta(seconds=min(5.0, timeout_seconds)),
            },
            retry_config={
                "max_retries": retries,
                "retry_timeout": timedelta(seconds=timeout_seconds),
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": timedelta(seconds=2),
                    "base": 2,
                },
            },
            **config,
        )

    def put(self, stream: BinaryIO, *, max_size: int) -> tuple[str, int]:
        """Store a seekable stream's bytes; refuse it (storing nothing) past `max_size`."""
        digest, size = hashlib.sha256(), 0
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_size:
                raise InvalidInput(
                    f"the file is larger than the limit of {max_size // (1024 * 1024)} MB"
                )
            digest.update(chunk)
        sha = digest.hexdigest()
        if self.size(sha) != size:
            stream.seek(0)
            self._send(sha, stream)
        return sha, size

    def stage(self, data: bytes) -> Staged:
        """Stored at once under its name: an S3 object is never seen half-written, and a
        blob no row refers to is harmless (the local store keeps those too)."""
        sha = hashlib.sha256(data).hexdigest()
        if self.size(sha) != len(data):
            self._send(sha, io.BytesIO(data))
        return Staged(sha, len(data), "")

    def publish(self, staged: Sequence[Staged]) -> None:
        """Nothing left to do: `stage` stored them (durable once the PUT is answered)."""

    def discard(self, staged: Sequence[Staged]) -> None:
        """Nothing to undo: a blob is never deleted, another document may share it."""

    def open(self, sha256: str) -> BinaryIO:
        return io.BufferedReader(_Reader(self.store, _key(sha256), sha256), CHUNK)

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def size(self, sha256: str) -> int | None:
        try:
            return int(obstore.head(self.store, _key(sha256))["size"])
        except _MISSING:
            return None
        except _FAILED as exc:
            raise _unavailable(exc) from None

    def check(self) -> None:
        """Raise BlobUnavailable unless the bucket answers (readiness): a HEAD of a name
        no blob has must say "not found"."""
        self.size("0" * 64)

    async def opener(self, sha256: str, size: int) -> Opener:
        """A small blob is fetched now, without blocking the delivery's event loop, and
        checked; a large one is streamed when the connector reads it."""
        if size > HELD:
            return lambda: self.open(sha256)
        try:
            result = await obstore.get_async(self.store, _key(sha256))
            data = bytes(await result.bytes_async())
        except _FAILED as exc:
            raise _unavailable(exc) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobDamaged(f"the stored file {sha256[:12]}… does not match its SHA-256")
        return lambda: io.BytesIO(data)

    def _send(self, sha256: str, stream: BinaryIO) -> None:
        try:
            obstore.put(
                self.store,
                _key(sha256),
                stream,
                chunk_size=PART,
                max_concurrency=PARTS_IN_FLIGHT,
            )
        except _FAILED as exc:
            raise _unavailable(exc) from None


class _Reader(io.RawIOBase):
    """An object read by ranged GETs of RANGE bytes; a seek reads from there on. Read from
    the start to the end, its SHA-256 is checked (BlobDamaged at the end otherwise)."""

    def __init__(self, store: S3Store, key: str, sha256: str) -> None:
        self._store, self._key, self._sha256 = store, key, sha256
        self._pos = 0
        self._size: int | None = None
        self._left = memoryview(b"")
        self._digest: Any = hashlib.sha256()  # None once the reads skipped a part

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if not self._left:
            self._left = memoryview(self._next())
            if not self._left:
                self._finished()
                return 0
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        if self._digest is not None:
            self._digest.update(self._left[:n])
        self._left = self._left[n:]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += self._total()
        if offset != self._pos:
            self._left = memoryview(b"")
            self._digest = hashlib.sha256() if offset == 0 else None
            self._pos = offset
        return self._pos

    def _next(self) -> bytes:
        """The next RANGE bytes, fetched whole by a GET of their own: the store's timeout
        bounds each request, so a slow reader (a slow target) never holds one open past
        it, as it would a GET of the whole object read at the target's pace."""
        end = min(self._pos + RANGE, self._total())
        if self._pos >= end:
            return b""
        try:
            return bytes(obstore.get_range(self._store, self._key, start=self._pos, end=end))
        except _FAILED as exc:
            raise _unavailable(exc) from None

    def _total(self) -> int:
        if self._size is None:
            try:
                self._size = int(obstore.head(self._store, self._key)["size"])
            except _FAILED as exc:
                raise _unavailable(exc) from None
        return self._size

    def _finished(self) -> None:
        if self._digest is not None and self._pos == self._total():
            found, self._digest = self._digest.hexdigest(), None
            if found != self._sha256:
                raise BlobDamaged(
                    f"the stored file {self._sha256[:12]}… does not match its SHA-256"
                )


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` → (bucket, prefix); InvalidInput for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise InvalidInput(f"{url!r} is not an s3://bucket/prefix URL")
    return parts.netloc, parts.path.strip("/")


def _key(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _unavailable(exc: Exception) -> BlobUnavailable:
    """The store's error in one line (obstore's messages carry the request, never the
    credentials)."""
    reason = (str(exc).strip().splitlines() or ["no reason given"])[0]
    return BlobUnavailable(f"the blob store could not be used: {reason[:300]}")
