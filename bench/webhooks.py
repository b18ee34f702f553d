"""A bare Standard Webhooks sender: what a minimal hand-written client would do (the
baseline of the HTTP benchmarks), on httpx2 or on passeur's own connection pool."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable

import httpx2

from passeur.connectors.http.wire import WirePool
from passeur.connectors.network import Guard
from passeur.connectors.tls import client_context
from passeur.domain.network import NetworkPolicy

BOUNDARY = "bench-boundary-5c1f"
LOOPBACK = Guard(NetworkPolicy.parse("127.0.0.0/8"))


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
    """POST every body with httpx2, `c` in flight; returns requests per second."""
    limits = httpx2.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as client:

        async def send(n: int) -> None:
            headers = signed_headers(secret, f"{prefix}-{n}", bodies[n])
            answer = await client.post(url, content=bodies[n], headers=headers)
            answer.raise_for_status()

        return await _timed(send, len(bodies), c)


async def post_all_wire(url: str, secret: str, bodies: list[bytes], prefix: str, c: int) -> float:
    """The same on the HTTP connector's own pool, without the rest of passeur: what the
    delivery machinery costs beside the HTTP exchange itself."""
    pool = WirePool(LOOPBACK, client_context(), max_connections=c, timeout=30)

    async def send(n: int) -> None:
        headers = signed_headers(secret, f"{prefix}-{n}", bodies[n])
        answer = await pool.request("POST", url, headers, bodies[n], read_at_most=4096)
        if answer.status != 200:
            raise RuntimeError(f"the receiver answered {answer.status}")

    try:
        return await _timed(send, len(bodies), c)
    finally:
        await pool.aclose()


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
