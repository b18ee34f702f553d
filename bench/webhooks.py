"""A bare Standard Webhooks sender, the baseline of the HTTP benchmarks: the client library
passeur sends with (aiohttp), used the way a minimal hand-written sender would, without
passeur (no guard, no ledger, no retry, no status). `post_files` does the work any sender
of documents must do: read each file, wrap it with its metadata, sign, POST;
`post_all` only signs and POSTs bodies already in memory."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

BOUNDARY = "bench-boundary-5c1f"


def multipart(name: str, data: bytes, meta: dict[str, object]) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
    return (
        f'{head}name="metadata"\r\nContent-Type: application/json\r\n\r\n'.encode()
        + json.dumps(meta).encode()
        + f'\r\n{head}name="original"; filename="{name}"\r\n'.encode()
        + b"Content-Type: application/pdf\r\n\r\n"
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def signed_headers(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    stamp = str(int(time.time()))
    signature = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(signature.digest()).decode(),
        "idempotency-key": message_id,
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
    }


async def post_all(url: str, secret: str, bodies: list[bytes], prefix: str, c: int) -> float:
    """POST every body with aiohttp, `c` in flight on at most `c` connections; returns
    requests per second."""
    connector = aiohttp.TCPConnector(limit=c)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(n: int) -> None:
            headers = signed_headers(secret, f"{prefix}-{n}", bodies[n])
            async with session.post(url, data=bodies[n], headers=headers) as answer:
                await answer.read()
                answer.raise_for_status()

        return await _timed(send, len(bodies), c)


async def post_files(url: str, secret: str, files: list[Path], prefix: str, c: int) -> float:
    """Read each file, build its multipart body with metadata like passeur's, sign it and
    POST it with aiohttp, `c` in flight on at most `c` connections; requests per second."""
    connector = aiohttp.TCPConnector(limit=c)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(n: int) -> None:
            await post_document(session, url, secret, files[n], f"{prefix}-{n}", n)

        return await _timed(send, len(files), c)


def document_body(path: Path, key: str, n: int) -> bytes:
    """A document file read from disk and wrapped with metadata like passeur's."""
    data = path.read_bytes()
    meta: dict[str, object] = {
        "type": "document.exported",
        "export": {"key": key, "version": 1},
        "document": {"id": n, "kind": "purchase_invoice", "number": path.stem},
        "client": {"name": "Client", "uen_number": "0403170701", "external_id": "B1"},
        "files": [{"role": "original", "name": path.name, "size": len(data)}],
    }
    return multipart(path.name, data, meta)


async def post_document(
    session: aiohttp.ClientSession, url: str, secret: str, path: Path, key: str, n: int
) -> None:
    """What every sender in the benchmarks does per document: read, wrap, sign, POST."""
    body = document_body(path, key, n)
    headers = signed_headers(secret, key, body)
    async with session.post(url, data=body, headers=headers) as answer:
        await answer.read()
        answer.raise_for_status()


async def _timed(send: Callable[[int], Awaitable[None]], n: int, c: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for item in range(n):
        queue.put_nowait(item)

    async def sender() -> None:
        while not queue.empty():
            await send(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(c)))
    return n / (time.perf_counter() - start)
