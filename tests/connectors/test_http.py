"""HTTP against the loopback receiver, which verifies signatures with its own code."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.errors import (
    Gone,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.http import EXTENSION, HttpConnector
from passeur.connectors.http.signing import new_secret
from passeur.domain.documents import DocumentKind
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.http_receiver import HttpReceiver
from passeur.sandbox.tls import SandboxTls
from tests.connectors.contract import CONTENT, ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.ports import refusing_port

TOKEN = "tok-5f0c1d2e3a4b"
SECRET = new_secret()
LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    made = HttpReceiver(
        SECRET, required_headers={"Authorization": f"Bearer {TOKEN}"}, keep_bodies=True
    )
    await made.start()
    yield made
    await made.stop()


def make_target(url: str, secrets: dict[str, str] | None = None, **config: object) -> Target:
    values: dict[str, object] = {
        "base_url": url,
        "auth": "bearer",
        "allow_plain_http": True,
        "path": "/in/[uen_number]/[invoice_type]",
        **config,
    }
    given = {"token": TOKEN, "signing_secret": SECRET, **(secrets or {})}
    return Target(1, 1, "http", effective_config(EXTENSION, values), given)


@pytest.fixture
async def connector() -> AsyncIterator[HttpConnector]:
    made = HttpConnector(network=LOOPBACK)
    yield made
    await made.close()


@pytest.fixture
def target(receiver: HttpReceiver) -> Target:
    return make_target(receiver.url)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, secrets={**target.secrets, "token": "tok-wrong-0000"})


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={**target.config, "base_url": f"http://127.0.0.1:{port}"})


def files_of(received: Any) -> dict[str, bytes]:
    """The files of an accepted request, parsed by the standard library (not by passeur)."""
    content_type = received.headers["content-type"]
    if content_type.startswith("multipart/"):
        raw = f"Content-Type: {content_type}\r\n\r\n".encode() + received.body
        parts = message_from_bytes(raw, policy=policy.HTTP).iter_parts()
        return {p.get_filename(): p.get_payload(decode=True) for p in parts if p.get_filename()}
    if content_type == "application/json":
        data = json.loads(received.body)
        return {f["name"]: base64.b64decode(f["content_base64"]) for f in data["files"]}
    return {received.headers["x-passeur-file-name"]: received.body}


@pytest.fixture
def fetch(receiver: HttpReceiver) -> Callable[[Receipt], Awaitable[bytes]]:
    async def read(receipt: Receipt) -> bytes:
        received = receiver.accepted[receipt.details["webhook_id"]]
        [content] = files_of(received).values()
        return content

    return read


@pytest.fixture
def copies(receiver: HttpReceiver) -> Callable[[Parcel], Awaitable[int]]:
    """Distinct webhook-ids accepted for the document (the receiver drops repeats)."""

    async def count(parcel: Parcel) -> int:
        return sum(1 for key in receiver.accepted if key.startswith(f"psr-d{parcel.document.id}-"))

    return count


class TestHttpContract(ConnectorContract):
    slug = "http"


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path / "blobs", CONTENT)


async def test_each_request_is_signed_and_keyed_by_the_export(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    before = int(time.time())
    receipt = await connector.deliver(target, parcel)
    after = math.ceil(time.time())
    received = receiver.accepted["psr-d7-i1-v1"]
    assert receiver.bad_signatures == 0, "the receiver's own verifier accepted the signature"
    assert received.headers["idempotency-key"] == received.webhook_id == parcel.export_key
    assert received.headers["webhook-signature"].startswith("v1,")
    assert before <= received.timestamp <= after, "the time of this try"
    assert received.path == "/in/0403170701/purchases"
    assert receipt.location == f"{receiver.url}/in/0403170701/purchases"
    assert received.headers["user-agent"].startswith("passeur/")


async def test_a_redelivery_carries_the_same_keys_and_is_dropped_by_the_receiver(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    await connector.deliver(target, parcel)
    await connector.deliver(target, parcel)
    assert [(s.webhook_id, s.idempotency_key) for s in receiver.seen] == [
        (parcel.export_key, parcel.export_key)
    ] * 2
    assert receiver.duplicates == 1 and len(receiver.accepted) == 1
    newer = replace(parcel, export_key="psr-d7-i1-v2", version=2)
    await connector.deliver(target, newer)  # a resend is a new version: a new key
    assert set(receiver.accepted) == {"psr-d7-i1-v1", "psr-d7-i1-v2"}


async def test_a_wrong_signing_secret_is_refused_by_the_receiver(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    wrong = replace(target, secrets={**target.secrets, "signing_secret": new_secret()})
    with pytest.raises(NeedsReauth):
        await connector.deliver(wrong, parcel)
    assert receiver.bad_signatures == 1 and not receiver.accepted


async def test_a_rotated_secret_verifies_with_either_key(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    rotating = replace(
        target, secrets={**target.secrets, "signing_secret": f"{new_secret()} {SECRET}"}
    )
    await connector.deliver(rotating, parcel)
    assert len(receiver.accepted["psr-d7-i1-v1"].headers["webhook-signature"].split()) == 2


@pytest.mark.parametrize("kind", ["multipart", "json", "raw"])
async def test_every_payload_lands_the_file(
    connector: HttpConnector, receiver: HttpReceiver, parcel: Parcel, kind: str
) -> None:
    await connector.deliver(make_target(receiver.url, payload=kind), parcel)
    received = receiver.accepted[parcel.export_key]
    assert files_of(received) == {parcel.main.name: CONTENT}
    if kind == "raw":
        assert received.headers["x-passeur-export-key"] == parcel.export_key
        assert received.headers["x-passeur-document-kind"] == "purchase_invoice"


async def test_statements_go_out_as_cod(
    connector: HttpConnector, receiver: HttpReceiver, tmp_path: Path
) -> None:
    coda = make_parcel(
        tmp_path, b"0" * 128, kind=DocumentKind.ENRICHED_MOVEMENT_REPORT, media_type="text/plain"
    )
    receipt = await connector.deliver(make_target(receiver.url, payload="json"), coda)
    assert receipt.location.endswith("/in/0403170701/cod")
    data = json.loads(receiver.accepted[coda.export_key].body or b"")
    assert data["document"]["invoice_type"] == "cod"
    assert data["files"][0]["name"].endswith(".cod")


async def test_path_segments_are_url_encoded(
    connector: HttpConnector, receiver: HttpReceiver, tmp_path: Path
) -> None:
    parcel = make_parcel(tmp_path, CONTENT, external_id="Janssens & Zn")
    receipt = await connector.deliver(
        make_target(receiver.url, path="/klanten/[external_id]"), parcel
    )
    assert receipt.location.endswith("/klanten/Janssens%20%26%20Zn")
    assert receiver.accepted[parcel.export_key].path == "/klanten/Janssens & Zn"


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (410, {}, Gone, None),
        (429, {"retry_after": "120"}, RateLimited, 120.0),
        (429, {}, RateLimited, None),
        (503, {"retry_after": "30"}, RateLimited, 30.0),
        (503, {}, TransientError, None),
        (500, {}, TransientError, None),
        (502, {}, TransientError, None),
        (408, {}, TransientError, None),
        (400, {}, Rejected, None),
        (404, {}, Rejected, None),
        (422, {}, Rejected, None),
        (401, {}, NeedsReauth, None),
        (403, {}, NeedsReauth, None),
        (414, {}, Misconfigured, None),
    ],
)
async def test_answers_are_classified(
    connector: HttpConnector,
    receiver: HttpReceiver,
    target: Target,
    parcel: Parcel,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    receiver.faults = replace(receiver.faults, status=status, **headers)
    with pytest.raises(error) as caught:
        await connector.deliver(target, parcel)
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert f"{status}" in str(caught.value)


async def test_retry_after_as_an_http_date(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    receiver.faults = replace(receiver.faults, status=429, retry_after=when)
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, parcel)
    assert caught.value.retry_after is not None and 85 <= caught.value.retry_after <= 90


async def test_a_rejection_keeps_an_excerpt_of_the_answer_without_secrets(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    answer = f"invalid VAT number on line 3 (your token {TOKEN} was fine)\n" + "x" * 5000
    receiver.faults = replace(receiver.faults, status=422, body=answer)
    with pytest.raises(Rejected) as caught:
        await connector.deliver(target, parcel)
    message = caught.value.message
    assert "invalid VAT number on line 3" in message
    assert TOKEN not in message and "***" in message
    assert len(message) < 500, "an excerpt, not the whole answer"


async def test_redirects_are_not_followed(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    receiver.faults = replace(receiver.faults, status=307, times=1, location=f"{receiver.url}/new")
    with pytest.raises(Misconfigured, match=f"redirects to {receiver.url}/new"):
        await connector.deliver(target, parcel)
    assert len(receiver.seen) == 1 and not receiver.accepted


async def test_a_slow_endpoint_times_out(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    # The answer would come after a minute: only a client that gives up after its own
    # timeout raises; one that waited would get the answer and deliver.
    receiver.faults = replace(receiver.faults, delay=60)
    with pytest.raises(TransientError, match="did not answer within 1 s"):
        await connector.deliver(replace(target, config={**target.config, "timeout": 1}), parcel)


async def test_a_transient_failure_then_success(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    receiver.faults = replace(receiver.faults, status=503, times=1)
    with pytest.raises(TransientError):
        await connector.deliver(target, parcel)
    await connector.deliver(target, parcel)
    assert [s.status for s in receiver.seen] == [503, 200]
    assert list(receiver.accepted) == [parcel.export_key]


@pytest.mark.parametrize(
    ("auth", "config", "secrets", "required"),
    [
        (
            "basic",
            {"username": "firm"},
            {"password": "pa:ss wörd"},
            "Basic ZmlybTpwYTpzcyB3w7ZyZA==",
        ),
        ("api_key", {"api_key_header": "X-Api-Key"}, {"api_key": "k-123456"}, "k-123456"),
    ],
)
async def test_basic_and_api_key_authentication(
    connector: HttpConnector,
    parcel: Parcel,
    auth: str,
    config: dict[str, str],
    secrets: dict[str, str],
    required: str,
) -> None:
    header = "X-Api-Key" if auth == "api_key" else "Authorization"
    receiver = HttpReceiver(SECRET, required_headers={header: required})
    await receiver.start()
    try:
        target = make_target(receiver.url, secrets, auth=auth, **config)
        assert (await connector.check(target)).ok
        await connector.deliver(target, parcel)
        assert list(receiver.accepted) == [parcel.export_key]
        wrong = replace(target, secrets={**target.secrets, **{k: "wrong-value" for k in secrets}})
        with pytest.raises(NeedsReauth):
            await connector.check(wrong)
    finally:
        await receiver.stop()


async def test_oauth_client_credentials(connector: HttpConnector, tmp_path: Path) -> None:
    receiver = HttpReceiver(SECRET, oauth_clients={"passeur": "cs-98765"})
    await receiver.start()
    try:
        target = make_target(
            receiver.url,
            {"oauth_client_secret": "cs-98765"},
            auth="oauth2",
            oauth_token_url=f"{receiver.url}/oauth/token",
            oauth_client_id="passeur",
        )
        for n in range(3):
            await connector.deliver(target, make_parcel(tmp_path / str(n), CONTENT, document_id=n))
        assert receiver.token_requests == 1, "the token is kept until it expires"
        receiver.revoke_tokens()  # the token stops working early
        await connector.deliver(target, make_parcel(tmp_path / "4", CONTENT, document_id=4))
        assert receiver.token_requests == 2, "one new token after the 401, then success"
        assert len(receiver.accepted) == 4
        in_body = replace(target, config={**target.config, "oauth_client_auth": "body"})
        await connector.deliver(in_body, make_parcel(tmp_path / "5", CONTENT, document_id=5))
        wrong = replace(target, secrets={**target.secrets, "oauth_client_secret": "cs-wrong"})
        with pytest.raises(NeedsReauth, match="refused the client credentials") as caught:
            await connector.check(wrong)
        assert "cs-wrong" not in caught.value.message
    finally:
        await receiver.stop()


async def test_tls_is_verified_and_a_ca_bundle_can_be_given(
    connector: HttpConnector, parcel: Parcel, tmp_path: Path
) -> None:
    tls = SandboxTls.make()
    receiver = HttpReceiver(
        SECRET, required_headers={"Authorization": f"Bearer {TOKEN}"}, tls=tls, tls_folder=tmp_path
    )
    await receiver.start()
    try:
        url = receiver.url.replace("127.0.0.1", "localhost")
        assert url.startswith("https://localhost:")
        untrusted = make_target(url, allow_plain_http=False)
        with pytest.raises(Misconfigured, match="certificate of localhost cannot be verified"):
            await connector.deliver(untrusted, parcel)
        trusted = make_target(url, allow_plain_http=False, ca_bundle=tls.ca_pem)
        await connector.deliver(trusted, parcel)
        assert list(receiver.accepted) == [parcel.export_key]
    finally:
        await receiver.stop()


async def test_check_sends_nothing_and_the_test_delivery_reports_the_answer(
    connector: HttpConnector, receiver: HttpReceiver, target: Target
) -> None:
    result = await connector.check(target)
    assert result.ok and "HEAD answered 200" in result.message
    assert [s.method for s in receiver.seen] == ["HEAD"] and not receiver.accepted
    sent = await connector.test_delivery(target)
    assert sent.ok and sent.details["status"] == 200
    [test_id] = receiver.accepted
    assert test_id.startswith("psr-test-") and test_id in sent.message
    body = receiver.accepted[test_id].body or b""
    assert b'"type": "passeur.test"' in body
    receiver.faults = replace(receiver.faults, status=500, body="database down")
    failed = await connector.test_delivery(target)
    assert not failed.ok and "answered 500" in failed.message and "database down" in failed.message


async def test_a_test_delivery_to_nowhere_reports_why(
    connector: HttpConnector, unreachable_target: Target
) -> None:
    result = await connector.test_delivery(unreachable_target)
    assert not result.ok and "cannot reach 127.0.0.1" in result.message
    assert result.details["error_class"] == "transient"


async def test_connections_are_pooled_per_installation(
    connector: HttpConnector, target: Target, tmp_path: Path
) -> None:
    for n in range(3):
        await connector.deliver(target, make_parcel(tmp_path / str(n), CONTENT, document_id=n))
    other = replace(target, installation_id=2)
    await connector.deliver(other, make_parcel(tmp_path / "x", CONTENT, document_id=9))
    assert len(connector._pools) == 2


async def test_a_secret_at_the_end_of_the_excerpt_is_not_cut_in_half(
    connector: HttpConnector, receiver: HttpReceiver, target: Target, parcel: Parcel
) -> None:
    receiver.faults = replace(receiver.faults, status=400, body="x" * 290 + f" {TOKEN} tail")
    with pytest.raises(Rejected) as caught:
        await connector.deliver(target, parcel)
    assert TOKEN[:6] not in caught.value.message


async def test_an_echoed_oauth_access_token_is_redacted(
    connector: HttpConnector, parcel: Parcel, tmp_path: Path
) -> None:
    receiver = HttpReceiver(SECRET, oauth_clients={"passeur": "cs-98765"})
    await receiver.start()
    try:
        target = make_target(
            receiver.url,
            {"oauth_client_secret": "cs-98765"},
            auth="oauth2",
            oauth_token_url=f"{receiver.url}/oauth/token",
            oauth_client_id="passeur",
        )
        await connector.deliver(target, make_parcel(tmp_path / "1", CONTENT, document_id=1))
        [token] = receiver.tokens
        receiver.faults = replace(receiver.faults, status=400, body=f"bad request from {token}")
        with pytest.raises(Rejected) as caught:
            await connector.deliver(target, parcel)
        assert token not in caught.value.message and "bad request from ***" in caught.value.message
    finally:
        await receiver.stop()


async def test_a_kept_alive_connection_the_server_closed_is_replaced_not_failed(
    connector: HttpConnector, tmp_path: Path
) -> None:
    """Servers drop idle keep-alive connections; the pool must see the closed socket and
    open a new one instead of failing the try."""
    connections = 0
    closed_by_us: asyncio.Queue[int] = asyncio.Queue()

    async def answer_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        writer.write_eof()  # says keep-alive, hangs up anyway (half-close: we still read)
        await reader.read()  # the end of our side: the pool saw the hang-up and let go
        closed_by_us.put_nowait(connections)
        writer.close()

    server = await asyncio.start_server(answer_then_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        target = make_target(f"http://127.0.0.1:{port}", path="")
        for n in range(3):
            await connector.deliver(target, make_parcel(tmp_path, CONTENT, document_id=n + 1))
            async with asyncio.timeout(10):
                assert await closed_by_us.get() == n + 1
        assert connections == 3
    finally:
        server.close()
        await server.wait_closed()


async def test_the_receiver_answers_without_waiting_for_nagle(receiver: HttpReceiver) -> None:
    """The receiver writes an answer's head and body separately. With Nagle's algorithm
    on, the body waited for the client's delayed ACK, 40 ms per request, and every HTTP
    benchmark measured that wait instead of passeur. Accepted sockets inherit the
    listening socket's TCP_NODELAY (Linux)."""
    assert receiver._server is not None
    listening = [sock for server in receiver._server.servers for sock in server.sockets]
    assert listening
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in listening)


async def test_a_credential_with_a_line_break_is_a_configuration_error(
    connector: HttpConnector, receiver: HttpReceiver, parcel: Parcel
) -> None:
    """A token pasted with its line break would forge a header: nothing is sent, the
    integration needs a person, and the message does not show the token."""
    target = make_target(receiver.url, {"token": f"{TOKEN}\r\nX-Forged: 1"})
    with pytest.raises(Misconfigured) as caught:
        await connector.deliver(target, parcel)
    assert "Authorization" in caught.value.message and TOKEN not in caught.value.message
    assert receiver.seen == []
