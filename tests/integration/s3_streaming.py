"""Run in a process of its own by test_s3_blobs: put a 50 MB document in the S3 store and
read it back, then print the growth of the process's peak resident memory (MB) over its
resident memory before, and whether the document read back whole.

    python -m tests.integration.s3_streaming ENDPOINT BUCKET
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

from passeur.storage.s3_blobs import S3BlobStore

MB = 1024 * 1024


class Generated(io.RawIOBase):
    """`size` pseudo-random bytes made as they are read (never whole in memory); seekable."""

    def __init__(self, size: int) -> None:
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = [0, self.pos, self.size][whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.pos, MB)
        block = hashlib.sha256(str(self.pos // 32).encode()).digest()
        buffer[:n] = (block * (n // 32 + 2))[self.pos % 32 : self.pos % 32 + n]
        self.pos += n
        return n


def memory() -> tuple[float, float]:
    """(resident, peak resident) in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    endpoint, bucket = sys.argv[1:3]
    store = S3BlobStore(f"s3://{bucket}/blobs", endpoint=endpoint, region="us-east-1",
                        access_key_id="test", secret_access_key="test")  # fmt: skip
    store.check()
    before, _ = memory()
    sha, size = store.put(Generated(50 * MB), max_size=50 * MB)  # type: ignore[arg-type]
    digest = hashlib.sha256()
    with store.open(sha) as stream:
        while chunk := stream.read(MB):
            digest.update(chunk)
    _, peak = memory()
    print(f"{peak - before:.1f} {size == 50 * MB and digest.hexdigest() == sha}")


if __name__ == "__main__":
    main()
