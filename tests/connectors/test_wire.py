"""The HTTP connector's connection pool against scripted servers on loopback: keep-alive,
answers of every shape HTTP/1.1 allows, limits on what an endpoint can make us read, and
what is refused before anything is sent."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx2
import pytest

from passeur.connectors.http.wire import MAX_HEAD, ONE_WRITE, WirePool, WireTransport
from passeur.connectors.network import AddressRefused, Guard
from passeur.connectors.tls import client_context
from passeur.domain.network import NetworkPolicy

LOOPBACK = Guard(NetworkPolicy.parse("127.0.0.0/8"))
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

Answerer = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


@dataclass
class Server:
    """A loopback server that reads each request and answers it with a script."""

    answer: Answerer
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    bodies: list[bytes] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await self.answer(reader, writer, self)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the test ended
        finally:
            self.open_now -= 1
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length)
        self.bodies.append(body)
        return head

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/in"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answerer], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answerer) -> Server:
        server = Server(answer)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start
    for listening in servers:
        listening.close()


def pool(**options: float) -> WirePool:
    values: dict[str, float] = {"max_connections": 4, "timeout": 5.0, **options}
    return WirePool(
        LOOPBACK,
        client_context(),
        max_connections=int(values["max_connections"]),
        timeout=values["timeout"],
        keepalive_expiry=values.get("keepalive_expiry", 30.0),
    )


async def keep_answering(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
    while True:
        await s.read_request(r)
        w.write(OK)
        await w.drain()


def replying(*replies: bytes, hang_up: bool = False) -> Answerer:
    """A script: each request read gets the next reply; then the server waits for the
    client to go, or with `hang_up` closes the connection itself."""

    async def answer(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        for reply in replies:
            await s.read_request(r)
            w.write(reply)
            await w.drain()
        if not hang_up:
            await r.read()

    return answer


async def test_requests_reuse_a_kept_alive_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(keep_answering)
    wire = pool()
    for n in range(3):
        answer = await wire.request("POST", server.url, {}, b"n=%d" % n, read_at_most=100)
        assert (answer.status, answer.body, answer.complete) == (200, b"ok", True)
    assert server.connections == 1
    assert server.bodies == [b"n=0", b"n=1", b"n=2"]
    assert server.heads[0].startswith(b"POST /in HTTP/1.1\r\nHost: 127.0.0.1:")
    await wire.aclose()


async def test_at_most_max_connections_are_open_at_once(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def slowly(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        while True:
            await s.read_request(r)
            await asyncio.sleep(0.05)
            w.write(OK)
            await w.drain()

    server = await serve(slowly)
    wire = pool(max_connections=2)
    answers = await asyncio.gather(
        *(wire.request("POST", server.url, {}, b"x", read_at_most=10) for _ in range(6))
    )
    assert [a.status for a in answers] == [200] * 6
    assert server.most_open == 2 and server.connections == 2
    await wire.aclose()


async def test_an_idle_connection_past_its_expiry_is_not_reused(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(keep_answering)
    wire = pool(keepalive_expiry=0.0)
    for _ in range(2):
        await wire.request("POST", server.url, {}, b"x", read_at_most=10)
    assert server.connections == 2
    await wire.aclose()


async def test_large_and_streamed_bodies_arrive_whole(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(keep_answering)
    wire = pool()
    big = bytes(range(256)) * (ONE_WRITE // 128)  # two writes: head, then body

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(40):
            yield bytes([n]) * 100_000

    streamed = b"".join(bytes([n]) * 100_000 for n in range(40))
    for body, expected in ((big, big), (chunks(), streamed)):
        headers = {"Content-Length": str(len(expected))}
        answer = await wire.request("POST", server.url, headers, body, read_at_most=10)
        assert answer.status == 200
    assert [hashlib.sha256(b).hexdigest() for b in server.bodies] == [
        hashlib.sha256(big).hexdigest(),
        hashlib.sha256(streamed).hexdigest(),
    ]
    await wire.aclose()


async def test_an_answer_to_head_has_no_body_whatever_its_length_says(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", OK))
    wire = pool()
    head = await wire.request("HEAD", server.url, {}, read_at_most=100)
    post = await wire.request("POST", server.url, {}, b"x", read_at_most=100)
    assert (head.status, head.body, post.body) == (200, b"", b"ok")
    assert server.connections == 1
    await wire.aclose()


async def test_an_interim_answer_is_skipped_and_repeated_headers_are_joined(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    final = b"HTTP/1.1 201 Created\r\nVary: a\r\nVary: b\r\nContent-Length: 2\r\n\r\nok"
    server = await serve(replying(interim + final))
    wire = pool()
    answer = await wire.request("POST", server.url, {}, b"x", read_at_most=100)
    assert (answer.status, answer.reason, answer.body) == (201, "Created", b"ok")
    assert answer.headers["vary"] == "a, b"
    await wire.aclose()


async def test_a_body_without_length_ends_with_the_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"
    server = await serve(replying(reply, hang_up=True))
    wire = pool()
    answer = await wire.request("POST", server.url, {}, b"x", read_at_most=100)
    assert (answer.status, answer.body, answer.complete) == (200, b"all of it", True)
    await wire.request("POST", server.url, {}, b"x", read_at_most=100)
    assert server.connections == 2  # not reused
    await wire.aclose()


async def test_an_endpoint_cannot_make_us_read_more_than_asked(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def endless(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await s.read_request(r)
        w.write(b"HTTP/1.1 400 Bad\r\nContent-Length: 10000000\r\n\r\n")
        for _ in range(100):
            w.write(b"y" * 100_000)
            await w.drain()

    server = await serve(endless)
    wire = pool()
    answer = await wire.request("POST", server.url, {}, b"x", read_at_most=4096)
    assert (answer.status, len(answer.body), answer.complete) == (400, 4096, False)
    assert wire.connections == 0  # unread bytes remain: the connection is not kept
    await wire.aclose()


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"z" * MAX_HEAD + b"\r\n\r\n", "exceed"),
        (b"NOT HTTP AT ALL\r\n\r\n", "not valid HTTP"),
        (b"", "closed the connection early"),
    ],
)
async def test_a_broken_answer_is_a_protocol_error(
    serve: Callable[..., Awaitable[Server]], reply: bytes, says: str
) -> None:
    server = await serve(replying(reply, hang_up=True))
    wire = pool()
    with pytest.raises(httpx2.RemoteProtocolError, match=says):
        await wire.request("POST", server.url, {}, b"x", read_at_most=100)
    assert wire.connections == 0
    await wire.aclose()


async def test_a_silent_server_times_out(serve: Callable[..., Awaitable[Server]]) -> None:
    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await s.read_request(r)
        await r.read()  # never answers

    server = await serve(silent)
    wire = pool(timeout=0.2)
    with pytest.raises(httpx2.ReadTimeout, match="did not answer within"):
        await wire.request("POST", server.url, {}, b"x", read_at_most=100)
    assert wire.connections == 0
    await wire.aclose()


@pytest.mark.parametrize(
    ("url", "headers", "error"),
    [
        ("ftp://127.0.0.1/x", {}, httpx2.UnsupportedProtocol),
        ("http:///x", {}, httpx2.InvalidURL),
        ("http://user:pw@127.0.0.1/x", {}, httpx2.InvalidURL),
        ("http://127.0.0.1/a b", {}, httpx2.InvalidURL),
        ("http://127.0.0.1:99999/x", {}, httpx2.InvalidURL),
        ("{url}", {"X-Note": "a\r\nX-Forged: 1"}, httpx2.LocalProtocolError),
        ("{url}", {"Bad Name": "v"}, httpx2.LocalProtocolError),
    ],
)
async def test_what_cannot_be_sent_safely_is_refused_before_connecting(
    serve: Callable[..., Awaitable[Server]],
    url: str,
    headers: dict[str, str],
    error: type[Exception],
) -> None:
    server = await serve(keep_answering)
    wire = pool()
    with pytest.raises(error):
        await wire.request("POST", url.format(url=server.url), headers, b"x", read_at_most=10)
    assert server.connections == 0
    await wire.aclose()


async def test_a_refused_address_is_never_connected_to(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(keep_answering)
    wire = WirePool(Guard(NetworkPolicy()), client_context(), max_connections=1, timeout=5)
    with pytest.raises(AddressRefused, match="loopback"):
        await wire.request("POST", server.url, {}, b"x", read_at_most=10)
    assert server.connections == 0


async def test_httpx2_clients_can_use_the_pool(serve: Callable[..., Awaitable[Server]]) -> None:
    body = b'{"access_token": "t"}'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    server = await serve(replying(head % len(body) + body))
    async with httpx2.AsyncClient(transport=WireTransport(pool())) as client:
        answer = await client.post(server.url, data={"grant_type": "client_credentials"})
    assert answer.json() == {"access_token": "t"}
    assert server.bodies == [b"grant_type=client_credentials"]
    assert server.heads[0].count(b"\r\nHost: ") == 1


async def test_an_early_answer_beats_the_broken_upload(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    """A server may refuse a large body at its head and close: that answer is what the
    try reports, not the write that failed."""

    async def refuse(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
        await w.drain()
        w.transport.abort()  # resets: the rest of the body cannot be written

    server = await serve(refuse)
    wire = pool()

    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(200):
            yield b"z" * 65536
            await asyncio.sleep(0.001)

    headers = {"Content-Length": str(200 * 65536)}
    answer = await wire.request("POST", server.url, headers, slowly(), read_at_most=100)
    assert (answer.status, answer.body) == (413, b"no")
    await wire.aclose()


async def test_an_answer_cut_before_its_announced_length_is_not_complete(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    reply = b"HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nhalf"
    server = await serve(replying(reply, hang_up=True))
    wire = pool()
    answer = await wire.request("POST", server.url, {}, b"x", read_at_most=1000)
    assert (answer.status, answer.body, answer.complete) == (500, b"half", False)
    await wire.aclose()
