"""A bare Standard Webhooks sender: what a minimal hand-written client would do (the
baseline of the HTTP benchmarks)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import httpx2

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
    """POST every body with `c` in flight; returns requests per second."""
    limits = httpx2.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(len(bodies)):
            queue.put_nowait(n)

        async def sender() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                message_id = f"{prefix}-{n}"
                headers = signed_headers(secret, message_id, bodies[n])
                answer = await client.post(url, content=bodies[n], headers=headers)
                answer.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(c)))
        return len(bodies) / (time.perf_counter() - start)
