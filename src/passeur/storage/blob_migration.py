"""Copying a folder store's blobs to another store (S3): resumable, since a blob the
destination already holds whole (same name, same size) is skipped, and verifiable, since
`verify` reads each one back from the destination and checks its SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from passeur.storage.blobs import CHUNK, BlobDamaged, BlobStore, LocalBlobStore


@dataclass
class Migration:
    copied: int = 0
    skipped: int = 0  # already at the destination (a resumed migration)
    verified: int = 0
    damaged: list[str] = field(default_factory=list)  # SHA-256s not read back whole


def migrate(
    source: LocalBlobStore,
    destination: BlobStore,
    *,
    verify: bool = False,
    progress: Callable[[str], object] = lambda _: None,
) -> Migration:
    """Copy every blob of `source` that `destination` lacks; with `verify`, read every one
    back. A failure (BlobUnavailable) stops it; run it again to go on where it stopped."""
    done = Migration()
    for sha256 in source.names():
        size = source.size(sha256)
        if size is None:  # gone since it was listed
            continue
        if destination.size(sha256) == size:
            done.skipped += 1
        else:
            with source.open(sha256) as stream:
                destination.put(stream, max_size=size)
            done.copied += 1
            progress(sha256)
        if verify:
            if _reads_back(destination, sha256):
                done.verified += 1
            else:
                done.damaged.append(sha256)
    return done


def _reads_back(store: BlobStore, sha256: str) -> bool:
    """Read to the end: the store checks the SHA-256 (BlobDamaged otherwise)."""
    digest = hashlib.sha256()
    try:
        with store.open(sha256) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except BlobDamaged:
        return False
    except FileNotFoundError:
        return False
    return digest.hexdigest() == sha256
