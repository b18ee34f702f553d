"""The shared outbound HTTP client against scripted servers on loopback: keep-alive,
answers of every shape HTTP/1.1 allows, limits on what an endpoint can make us read,
what is refused before anything is sent, timeouts per operation, and the guard applied
to the address actually connected to."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from passeur.connectors.errors import Misconfigured, TransientError
from passeur.connectors.http import HttpConnector
from passeur.connectors.network import Guard
from passeur.connectors.outbound import (
    SLICE,
    Broken,
    Outbound,
    Refused,
    TimedOut,
    Unreachable,
    Unsendable,
    UntrustedCertificate,
)
from passeur.connectors.tls import client_context
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.tls import SandboxTls
from tests.connectors.parcels import make_parcel
from tests.connectors.test_http import make_target

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
        body = await reader.readexactly(content_length(head))
        self.bodies.append(body)
        return head

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/in"


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


Serve = Callable[..., Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a scripted server, on a port of its choosing or on a socket the test bound."""
    servers: list[asyncio.Server] = []

    async def start(
        answer: Answerer, sock: socket.socket | None = None, tls: ssl.SSLContext | None = None
    ) -> Server:
        server = Server(answer)
        if sock is None:
            listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
        else:  # the server takes the socket over (the test may close its own handle)
            listening = await asyncio.start_server(server.handle, sock=sock.dup(), ssl=tls)
            sock.close()
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start
    for listening in servers:
        listening.close()


@pytest.fixture
async def outbound() -> AsyncIterator[Callable[..., Outbound]]:
    made: list[Outbound] = []

    def make(guard: Guard = LOOPBACK, **options: float) -> Outbound:
        values: dict[str, float] = {"max_connections": 4, "timeout": 5.0, **options}
        client = Outbound(
            guard,
            tls=client_context(),
            max_connections=int(values["max_connections"]),
            timeout=values["timeout"],
            keepalive_expiry=values.get("keepalive_expiry", 30.0),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


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


class Names:
    """A DNS stand-in: each name resolves to the addresses given for it."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.names[host]


@contextlib.contextmanager
def same_port(*hosts: str) -> Iterator[list[socket.socket]]:
    """One TCP socket bound on each loopback address, all on the same port (a name with
    several addresses keeps one port), none listening yet. Kept bound by the test."""
    for _ in range(20):
        bound: list[socket.socket] = []
        try:
            for host in hosts:
                sock = socket.socket()
                bound.append(sock)
                sock.bind((host, bound[0].getsockname()[1] if len(bound) > 1 else 0))
        except OSError:  # that port is taken on one of the other addresses: another one
            for sock in bound:
                sock.close()
            continue
        try:
            yield bound
        finally:
            for sock in bound:
                sock.close()
        return
    raise RuntimeError("no port free on every address")


def accepted(listening: socket.socket) -> int:
    """Connections that reached a listening socket nobody accepts from: every completed
    TCP handshake waits in its queue, so this counts every connection ever made to it."""
    listening.setblocking(False)
    count = 0
    while True:
        try:
            sock, _ = listening.accept()
        except BlockingIOError:
            return count
        sock.close()
        count += 1


# Keep-alive and limits


async def test_requests_reuse_a_kept_alive_connection(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    server = await serve(keep_answering)
    client = outbound()
    for n in range(3):
        answer = await client.request("POST", server.url, body=b"n=%d" % n, read_at_most=100)
        assert (answer.status, answer.body, answer.complete) == (200, b"ok", True)
    assert server.connections == 1
    assert server.bodies == [b"n=0", b"n=1", b"n=2"]
    head = server.heads[0]
    assert head.startswith(b"POST /in HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in head and b"User-Agent: passeur/" in head


async def test_at_most_max_connections_are_open_at_once(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    async def slowly(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        while True:
            await s.read_request(r)
            await asyncio.sleep(0.05)
            w.write(OK)
            await w.drain()

    server = await serve(slowly)
    client = outbound(max_connections=2)
    answers = await asyncio.gather(
        *(client.request("POST", server.url, body=b"x", read_at_most=10) for _ in range(6))
    )
    assert [a.status for a in answers] == [200] * 6
    assert server.most_open == 2 and server.connections == 2


async def test_an_idle_connection_past_its_expiry_is_not_reused(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    server = await serve(keep_answering)
    client = outbound(keepalive_expiry=0.0)
    for _ in range(2):
        await client.request("POST", server.url, body=b"x", read_at_most=10)
    assert server.connections == 2


# Bodies


async def test_large_and_streamed_bodies_arrive_whole(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    server = await serve(keep_answering)
    client = outbound()
    big = bytes(range(256)) * (3 * SLICE // 256 + 7)  # sent in slices

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(40):
            yield bytes([n]) * 100_000

    streamed = b"".join(bytes([n]) * 100_000 for n in range(40))
    answer = await client.request("POST", server.url, body=big, read_at_most=10)
    assert answer.status == 200
    headers = {"Content-Length": str(len(streamed))}  # a stream's length is the caller's
    answer = await client.request(
        "POST", server.url, headers=headers, body=chunks(), read_at_most=10
    )
    assert answer.status == 200
    assert all(b"transfer-encoding" not in head.lower() for head in server.heads)
    assert [hashlib.sha256(b).hexdigest() for b in server.bodies] == [
        hashlib.sha256(big).hexdigest(),
        hashlib.sha256(streamed).hexdigest(),
    ]


# Answers


async def test_an_answer_to_head_has_no_body_whatever_its_length_says(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", OK))
    client = outbound()
    head = await client.request("HEAD", server.url, read_at_most=100)
    post = await client.request("POST", server.url, body=b"x", read_at_most=100)
    assert (head.status, head.body, post.body) == (200, b"", b"ok")
    assert server.connections == 1


async def test_an_interim_answer_is_skipped_and_repeated_headers_are_joined(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    final = b"HTTP/1.1 201 Created\r\nVary: a\r\nVary: b\r\nContent-Length: 2\r\n\r\nok"
    server = await serve(replying(interim + final))
    answer = await outbound().request("POST", server.url, body=b"x", read_at_most=100)
    assert (answer.status, answer.reason, answer.body) == (201, "Created", b"ok")
    assert answer.headers["vary"] == "a, b"


async def test_a_body_without_length_ends_with_the_connection(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"
    server = await serve(replying(reply, hang_up=True))
    client = outbound()
    answer = await client.request("POST", server.url, body=b"x", read_at_most=100)
    assert (answer.status, answer.body, answer.complete) == (200, b"all of it", True)
    await client.request("POST", server.url, body=b"x", read_at_most=100)
    assert server.connections == 2  # not reused


async def test_an_endpoint_cannot_make_us_read_more_than_asked(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    async def endless(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await s.read_request(r)
        w.write(b"HTTP/1.1 400 Bad\r\nContent-Length: 10000000\r\n\r\n")
        for _ in range(100):
            w.write(b"y" * 100_000)
            await w.drain()

    server = await serve(endless)
    client = outbound()
    for _ in range(2):
        answer = await client.request("POST", server.url, body=b"x", read_at_most=4096)
        assert (answer.status, len(answer.body), answer.complete) == (400, 4096, False)
    assert server.connections == 2  # unread bytes remained: the connection was not kept


async def test_an_answer_cut_before_its_announced_length_is_not_complete(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    reply = b"HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nhalf"
    server = await serve(replying(reply, hang_up=True))
    answer = await outbound().request("POST", server.url, body=b"x", read_at_most=1000)
    assert (answer.status, answer.body, answer.complete) == (500, b"half", False)


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"z" * 100_000 + b"\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"",  # hangs up without answering
    ],
)
async def test_a_broken_answer_is_a_transient_failure(
    serve: Serve, outbound: Callable[..., Outbound], reply: bytes
) -> None:
    server = await serve(replying(reply, hang_up=True))
    with pytest.raises(Broken, match=r"the connection to 127\.0\.0\.1 failed") as caught:
        await outbound().request("POST", server.url, body=b"x", read_at_most=100)
    assert isinstance(caught.value, TransientError)


async def test_an_early_answer_beats_the_broken_upload(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    """A server may refuse a large body at its head and close: that answer is what the
    try reports, not the write that failed."""

    async def refuse(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
        await w.drain()
        w.transport.abort()  # resets: the rest of the body cannot be written

    server = await serve(refuse)

    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(200):
            yield b"z" * 65536
            await asyncio.sleep(0.001)

    headers = {"Content-Length": str(200 * 65536)}
    answer = await outbound().request(
        "POST", server.url, headers=headers, body=slowly(), read_at_most=100
    )
    assert (answer.status, answer.body) == (413, b"no")


async def test_no_cookie_is_kept(serve: Serve, outbound: Callable[..., Outbound]) -> None:
    set_cookie = b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc\r\nContent-Length: 2\r\n\r\nok"
    server = await serve(replying(set_cookie, OK))
    client = outbound()
    for _ in range(2):
        await client.request("POST", server.url, body=b"x", read_at_most=10)
    assert all(b"cookie" not in head.lower() for head in server.heads)


# Refused before anything is sent


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("ftp://127.0.0.1/x", {}),
        ("http:///x", {}),
        ("http://user:pw@127.0.0.1/x", {}),
        ("http://127.0.0.1/a b", {}),
        ("http://127.0.0.1:99999/x", {}),
        ("{url}", {"X-Note": "a\r\nX-Forged: 1"}),
        ("{url}", {"Bad Name": "v"}),
    ],
)
async def test_what_cannot_be_sent_safely_is_refused_before_connecting(
    serve: Serve, outbound: Callable[..., Outbound], url: str, headers: dict[str, str]
) -> None:
    server = await serve(keep_answering)
    with pytest.raises(Unsendable) as caught:
        await outbound().request(
            "POST", url.format(url=server.url), headers=headers, body=b"x", read_at_most=10
        )
    assert isinstance(caught.value, Misconfigured)
    assert server.connections == 0


# Timeouts: per operation, never for the whole exchange


async def test_a_silent_server_times_out(serve: Serve, outbound: Callable[..., Outbound]) -> None:
    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await s.read_request(r)
        await r.read()  # never answers

    server = await serve(silent)
    with pytest.raises(TimedOut, match=r"127\.0\.0\.1 did not answer within 0\.2 s"):
        await outbound(timeout=0.2).request("POST", server.url, body=b"x", read_at_most=100)


async def test_a_server_that_stops_reading_the_upload_times_out(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    """The upload must keep moving: once the socket buffers are full and the server
    reads nothing more, the next slice waits past the timeout."""
    heard = asyncio.Event()

    async def deaf(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        await r.readuntil(b"\r\n\r\n")
        heard.set()
        await asyncio.Event().wait()  # reads nothing more, never answers

    server = await serve(deaf)
    size = 64 * 1024 * 1024  # far more than the socket buffers can absorb

    async def zeros() -> AsyncIterator[bytes]:
        for _ in range(size // SLICE):
            yield bytes(SLICE)

    headers = {"Content-Length": str(size)}
    with pytest.raises(TimedOut, match=r"took no more of the request for 0\.5 s"):
        await outbound(timeout=0.5).request(
            "POST", server.url, headers=headers, body=zeros(), read_at_most=10
        )
    assert heard.is_set()


RATE = 1024 * 1024  # bytes per second the slow receiver reads
DOCUMENT = 20 * 1024 * 1024  # 20 s at that rate: four times the timeout


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_a_slow_receiver_gets_a_20_mb_document_with_a_5_s_timeout(
    serve: Serve, tmp_path: Path
) -> None:
    """A receiver reading about 1 MB/s gets a 20 MB document from the HTTP connector
    although its timeout is 5 s: the timeout bounds each operation's wait for progress,
    not the exchange (which takes about 20 s)."""
    digest = hashlib.sha256()
    received = 0

    async def slow(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Server) -> None:
        nonlocal received
        length = content_length(await r.readuntil(b"\r\n\r\n"))
        loop = asyncio.get_running_loop()
        started = loop.time()
        while received < length:
            data = await r.read(min(64 * 1024, length - received))
            if not data:
                return
            digest.update(data)
            received += len(data)
            # Pace the reads: no faster than RATE since the first byte.
            await asyncio.sleep(max(0.0, started + received / RATE - loop.time()))
        w.write(OK)
        await w.drain()

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # small buffers
    server = await serve(slow, sock=listening)
    document = bytes(range(256)) * (DOCUMENT // 256)
    parcel = make_parcel(tmp_path, document, media_type="application/pdf")
    target = make_target(
        f"http://127.0.0.1:{server.port}", auth="none", payload="raw", path="", timeout=5
    )
    connector = HttpConnector(network=LOOPBACK.policy)
    try:
        receipt = await connector.deliver(target, parcel)
    finally:
        await connector.close()
    assert receipt.details["status"] == 200
    assert received == len(document)
    assert digest.hexdigest() == hashlib.sha256(document).hexdigest()


# The guard, on the address actually connected to


async def test_a_refused_address_is_never_connected_to(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    """A name resolving to a refused address and an allowed one: the allowed one gets
    the request and the refused one never sees a connection, whatever the order."""
    only_one = NetworkPolicy.parse("127.0.0.1/32")  # 127.0.0.2 is loopback, not allowed
    with same_port("127.0.0.1", "127.0.0.2") as (allowed, refused):
        refused.listen(16)
        server = await serve(keep_answering, sock=allowed)
        names = Names(
            {"erp.example.com": ["127.0.0.2", "127.0.0.1"], "bad.example.com": ["127.0.0.2"]}
        )
        client = outbound(Guard(only_one, names))
        answer = await client.request(
            "POST", f"http://erp.example.com:{server.port}/in", body=b"x", read_at_most=10
        )
        assert answer.status == 200 and server.bodies == [b"x"]
        for url in (f"http://bad.example.com:{server.port}/in", f"http://127.0.0.2:{server.port}/"):
            with pytest.raises(Refused, match="is a loopback address") as caught:
                await client.request("POST", url, body=b"x", read_at_most=10)
            assert "PASSEUR_ALLOWED_NETWORKS" in caught.value.message
        assert accepted(refused) == 0
        assert names.lookups == ["erp.example.com", "bad.example.com"]


async def test_the_next_address_is_tried_when_one_refuses_the_connection(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    with same_port("127.0.0.1", "127.0.0.3") as (allowed, closed):
        # 127.0.0.3 is bound but does not listen: connecting there is refused (RST).
        server = await serve(keep_answering, sock=allowed)
        names = Names({"erp.example.com": ["127.0.0.3", "127.0.0.1"]})
        answer = await outbound(Guard(LOOPBACK.policy, names)).request(
            "POST", f"http://erp.example.com:{server.port}/in", body=b"x", read_at_most=10
        )
        assert answer.status == 200 and server.connections == 1
        assert closed.getsockname()[1] == server.port


async def test_the_next_address_is_tried_when_one_does_not_answer(
    serve: Serve, outbound: Callable[..., Outbound]
) -> None:
    with same_port("127.0.0.1", "127.0.0.4") as (allowed, full):
        # A listener whose queue is full drops new connections' SYNs: they hang.
        full.listen(0)
        filler = socket.create_connection(full.getsockname())
        try:
            server = await serve(keep_answering, sock=allowed)
            names = Names({"erp.example.com": ["127.0.0.4", "127.0.0.1"]})
            answer = await outbound(Guard(LOOPBACK.policy, names), timeout=30).request(
                "POST", f"http://erp.example.com:{server.port}/in", body=b"x", read_at_most=10
            )
            assert answer.status == 200 and server.connections == 1
        finally:
            filler.close()


async def test_a_name_with_no_answering_address_is_unreachable(
    outbound: Callable[..., Outbound],
) -> None:
    with same_port("127.0.0.1", "127.0.0.3") as bound:
        port = bound[0].getsockname()[1]
        names = Names({"erp.example.com": ["127.0.0.3", "127.0.0.1"]})  # both refuse
        with pytest.raises(Unreachable, match=r"cannot reach erp\.example\.com"):
            await outbound(Guard(LOOPBACK.policy, names)).request(
                "POST", f"http://erp.example.com:{port}/in", body=b"x", read_at_most=10
            )


# TLS: verified against the host name, though the connection goes to an address


def server_context(tls: SandboxTls, folder: Path, names: list[str]) -> ssl.SSLContext:
    """The server's side, recording the name each client asked for (SNI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_text(tls.cert_pem)
    key.write_text(tls.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def sni(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        names.append(name or "")

    context.sni_callback = sni  # type: ignore[assignment]
    return context


@pytest.mark.parametrize(("certified", "verifies"), [("files.example.test", True),
                                                     ("other.example.test", False)])  # fmt: skip
async def test_tls_is_verified_against_the_host_name(
    serve: Serve,
    outbound: Callable[..., Outbound],
    tmp_path: Path,
    certified: str,
    verifies: bool,
) -> None:
    """The certificate is checked against the URL's host and the name is sent as SNI,
    though the connection goes to the vetted address (which the certificate also
    lists: that must not be enough)."""
    tls = SandboxTls.make(certified)
    names: list[str] = []
    server = await serve(keep_answering, tls=server_context(tls, tmp_path, names))
    client = Outbound(
        Guard(LOOPBACK.policy, Names({"files.example.test": ["127.0.0.1"]})),
        tls=client_context(tls.ca_pem),
        timeout=5,
    )
    url = f"https://files.example.test:{server.port}/in"
    try:
        if verifies:
            answer = await client.request("POST", url, body=b"x", read_at_most=10)
            assert answer.status == 200 and server.bodies == [b"x"]
        else:
            with pytest.raises(UntrustedCertificate, match=r"certificate of files\.example\.test"):
                await client.request("POST", url, body=b"x", read_at_most=10)
            assert server.bodies == []
        assert names == ["files.example.test"]
    finally:
        await client.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://firm:s3cret-in-url@127.0.0.1/x",
        "ftp://127.0.0.1/x?token=s3cret-in-url",
        "http://127.0.0.1/a b?token=s3cret-in-url",
        "http://127.0.0.1:99999/x?token=s3cret-in-url",
    ],
)
async def test_a_refused_url_is_named_without_its_credentials_or_query(
    outbound: Callable[..., Outbound], url: str
) -> None:
    # The message reaches the export's last error, the pages and the logs.
    with pytest.raises(Unsendable) as caught:
        await outbound().request("POST", url, headers={}, body=b"x", read_at_most=10)
    assert "s3cret-in-url" not in str(caught.value)
    assert "cannot be used" in str(caught.value)
