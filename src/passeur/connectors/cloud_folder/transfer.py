"""Moving a document's bytes: read from the blob store a piece at a time (never whole in
memory), and sent to an upload session in ranges that resume after a cut."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import BinaryIO

from passeur.connectors.cloud_folder.calls import Reply
from passeur.connectors.cloud_folder.resume import Progress
from passeur.connectors.errors import Rejected, TransientError
from passeur.connectors.outbound import Body

PIECE = 64 * 1024  # bytes read from the blob store at a time
RESUMES = 3  # cut pieces of an upload session resumed within one try


def in_the_way(provider: str, where: str) -> Rejected:
    """A different file already has the document's name: it is never overwritten nor
    renamed beside (the software watching the folder would import both)."""
    return Rejected(
        f"a different file named {where} is already in {provider}; it was left as it is: "
        "move or rename it, then resend the document"
    )


def read_through(stream: BinaryIO, *sinks: Callable[[bytes], object]) -> int:
    """Read the whole stream once, handing each piece to every sink (hashers); its size."""
    size = 0
    while piece := stream.read(PIECE):
        size += len(piece)
        for sink in sinks:
            sink(piece)
    return size


async def pieces(stream: BinaryIO, start: int, length: int) -> AsyncIterator[bytes]:
    """`length` bytes of the file from `start`, a piece at a time (a request body)."""
    stream.seek(start)
    left = length
    while left > 0:
        piece = stream.read(min(PIECE, left))
        if not piece:
            raise TransientError("the document's file ended early in the blob store")
        left -= len(piece)
        yield piece


async def send_ranges(
    put: Callable[[dict[str, str], Callable[[], Body]], Awaitable[Reply]],
    ask: Callable[[], Awaitable[Reply]],
    go_on: Callable[[Reply], int | None],
    stream: BinaryIO,
    size: int,
    chunk: int,
    start: int = 0,
    progress: Progress | None = None,
) -> Reply:
    """Send a file to an upload session in `chunk`-byte ranges (`Content-Range`, Google
    Drive and OneDrive alike). `go_on` reads the offset the session expects next from an
    answer (None: the answer is the end, a file or an error, for the caller to read).
    After a cut (a dropped connection, a 5xx, a 416) `ask` gets where the session is, at
    most RESUMES times a try, and the upload goes on from there: never from the start.
    `start` is where the session is (a kept session asked); `progress` follows what the
    provider confirms."""
    offset, resumes = start, RESUMES
    progress = progress if progress is not None else Progress(start)
    while True:
        length = min(chunk, size - offset)
        headers = {
            "Content-Length": str(length),
            "Content-Range": f"bytes {offset}-{offset + length - 1}/{size}",
        }
        try:
            reply = await put(headers, lambda o=offset, n=length: pieces(stream, o, n))  # type: ignore[misc]
        except TransientError:
            if resumes == 0:
                raise
            resumes, reply = resumes - 1, await ask()
        if (reply.status >= 500 or reply.status == 416) and resumes > 0:
            resumes, reply = resumes - 1, await ask()
        expected = go_on(reply)
        if expected is None:
            return reply
        offset = progress.confirmed = expected
