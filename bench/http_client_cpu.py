"""CPU per request of the outbound HTTP candidates (docs/decisions.md, "Outbound HTTP").

Each candidate POSTs the same 30 KB signed multipart bodies to the loopback receiver
(its own process, so its CPU is not counted), `--concurrency` in flight, connecting only
to addresses the SSRF guard vetted, and reads at most 4 KB of each answer. The figure is
this process's CPU time (time.process_time) per request; the candidates take turns within
each round, in the same run.

    python -m bench.http_client_cpu [--requests 3000] [--concurrency 32] [--rounds 3]

Candidates: `outbound`, passeur's client (connectors/outbound.py, aiohttp with a resolver
that returns only vetted addresses); `aiohttp`, the same resolver on a bare session;
`httpcore2`, its connection pool with a network backend that connects only to vetted
addresses, on anyio (its own backend); `httpcore2_asyncio`, the same pool on a network
backend written on asyncio streams instead; `httpx2`, httpx2's client on that httpcore2
pool (the API the project used before).
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import httpcore2
import httpx2
from httpcore2._backends.anyio import AnyIOBackend

from bench.harness import save
from bench.servers import http_receiver
from bench.webhooks import multipart, signed_headers
from passeur.connectors.http.signing import new_secret
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound, _VettedResolver
from passeur.connectors.tls import client_context
from passeur.domain.network import NetworkPolicy
from passeur.formats.corpus import make_padded_pdf

GUARD = Guard(NetworkPolicy.parse("127.0.0.0/8"))
TIMEOUT = 30.0
READ_AT_MOST = 4096
Send = Callable[[int], Awaitable[None]]


class VettedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's network backend: connect only to vetted addresses, the next one when
    one fails (TLS is started by httpcore2 afterwards, against the host name)."""

    def __init__(self, guard: Guard, inner: httpcore2.AsyncNetworkBackend) -> None:
        self.guard = guard
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self.guard.vetted(host, port, timeout):
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """A network stream on asyncio's streams, without anyio."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self.reader.read(max_bytes)
        except TimeoutError:
            raise httpcore2.ReadTimeout("read timed out") from None
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self.writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self.writer.drain()
        except TimeoutError:
            raise httpcore2.WriteTimeout("write timed out") from None
        except OSError as exc:
            raise httpcore2.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self.writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        async with asyncio.timeout(timeout):
            await self.writer.start_tls(ssl_context, server_hostname=server_hostname)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self.reader.at_eof()
        if info == "ssl_object":
            return self.writer.get_extra_info("ssl_object")
        return None


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise httpcore2.ConnectTimeout("connect timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def httpcore2_pool(c: int, inner: httpcore2.AsyncNetworkBackend) -> httpcore2.AsyncConnectionPool:
    return httpcore2.AsyncConnectionPool(
        ssl_context=client_context(),
        max_connections=c,
        keepalive_expiry=30,
        network_backend=VettedBackend(GUARD, inner),
    )


async def with_outbound(url: str, sign: Callable[[int], dict[str, str]], c: int, n: int) -> float:
    client = Outbound(GUARD, timeout=TIMEOUT, max_connections=c)

    async def send(i: int) -> None:
        body = BODIES[i]
        answer = await client.request(
            "POST", url, headers=sign(i), body=body, read_at_most=READ_AT_MOST
        )
        assert answer.status == 200, answer.status

    try:
        return await cpu_per_request(send, n, c)
    finally:
        await client.close()


async def with_aiohttp(url: str, sign: Callable[[int], dict[str, str]], c: int, n: int) -> float:
    connector = aiohttp.TCPConnector(
        limit=c,
        ssl=client_context(),
        resolver=_VettedResolver(GUARD, TIMEOUT),
        use_dns_cache=False,
        keepalive_timeout=30,
    )
    timeout = aiohttp.ClientTimeout(sock_connect=TIMEOUT, sock_read=TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(i: int) -> None:
            async with session.post(
                url, data=BODIES[i], headers=sign(i), allow_redirects=False
            ) as answer:
                await answer.content.read(READ_AT_MOST)
                assert answer.status == 200, answer.status

        return await cpu_per_request(send, n, c)


def with_httpcore2(inner: Callable[[], httpcore2.AsyncNetworkBackend]) -> Candidate:
    async def run(url: str, sign: Callable[[int], dict[str, str]], c: int, n: int) -> float:
        timeouts = {"connect": TIMEOUT, "read": TIMEOUT, "write": TIMEOUT, "pool": None}
        async with httpcore2_pool(c, inner()) as pool:

            async def send(i: int) -> None:
                headers = {**sign(i), "Content-Length": str(len(BODIES[i]))}
                async with pool.stream(
                    "POST",
                    url,
                    headers=headers,
                    content=BODIES[i],
                    extensions={"timeout": timeouts},
                ) as answer:
                    got = 0
                    async for chunk in answer.aiter_stream():
                        got += len(chunk)
                        if got >= READ_AT_MOST:
                            break
                    assert answer.status == 200, answer.status

            return await cpu_per_request(send, n, c)

    return run


async def with_httpx2(url: str, sign: Callable[[int], dict[str, str]], c: int, n: int) -> float:
    transport = httpx2.AsyncHTTPTransport()
    transport._pool = httpcore2_pool(c, AnyIOBackend())
    async with httpx2.AsyncClient(
        transport=transport, timeout=TIMEOUT, follow_redirects=False, trust_env=False
    ) as client:

        async def send(i: int) -> None:
            request = client.build_request("POST", url, content=BODIES[i], headers=sign(i))
            answer = await client.send(request, stream=True)
            try:
                got = 0
                async for chunk in answer.aiter_raw():
                    got += len(chunk)
                    if got >= READ_AT_MOST:
                        break
            finally:
                await answer.aclose()
            assert answer.status_code == 200, answer.status_code

        return await cpu_per_request(send, n, c)


async def cpu_per_request(send: Send, n: int, c: int) -> float:
    """Milliseconds of this process's CPU per request, `c` requests in flight."""
    todo = list(range(n - 1, -1, -1))

    async def sender() -> None:
        while todo:
            await send(todo.pop())

    start = time.process_time()
    await asyncio.gather(*(sender() for _ in range(c)))
    return (time.process_time() - start) / n * 1000


Candidate = Callable[[str, Callable[[int], dict[str, str]], int, int], Awaitable[float]]
CANDIDATES: dict[str, Candidate] = {
    "outbound": with_outbound,
    "aiohttp": with_aiohttp,
    "httpcore2": with_httpcore2(AnyIOBackend),
    "httpcore2_asyncio": with_httpcore2(AsyncioBackend),
    "httpx2": with_httpx2,
}
BODIES: list[bytes] = []


def run(requests: int, concurrency: int, rounds: int) -> dict[str, float]:
    secret = new_secret()
    BODIES[:] = [
        multipart(f"f{i}.pdf", make_padded_pdf(30 * 1024, seed=i), {"n": i})
        for i in range(requests)
    ]
    cpu: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    with tempfile.TemporaryDirectory() as tmp, http_receiver(Path(tmp), secret) as server:
        url = f"{server.url}/in"
        for r in range(rounds):
            for name, candidate in CANDIDATES.items():

                def sign(i: int, prefix: str = f"{name}{r}") -> dict[str, str]:
                    return signed_headers(secret, f"{prefix}-{i}", BODIES[i])

                ms = asyncio.run(candidate(url, sign, concurrency, requests))
                cpu[name].append(ms)
                print(f"round {r + 1}: {name:<18} {ms:.3f} ms CPU per request", flush=True)
    figures: dict[str, float] = {
        f"http_client_cpu_ms_{name}": statistics.median(values) for name, values in cpu.items()
    }
    figures["http_client_cpu_concurrency"] = concurrency
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.requests, args.concurrency, args.rounds)
    print("median CPU per 30 KB POST:")
    for name, value in figures.items():
        if name.startswith("http_client_cpu_ms_"):
            print(f"  {name.removeprefix('http_client_cpu_ms_'):<18} {value:.3f} ms")
    save("http_client_cpu", figures)


if __name__ == "__main__":
    main()
