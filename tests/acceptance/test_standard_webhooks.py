"""passeur's real requests, verified by the Standard Webhooks reference library itself.

The HTTP connector posts to a loopback receiver that checks every request with the
`standardwebhooks` package exactly as its documentation shows (`Webhook(secret).verify(body,
headers)`), answering 204 when it verifies and 401 when it does not. JSON, the default
payload, is the kind that claims this compatibility; multipart and raw are verified the way
docs/http.md tells a receiver to (an HMAC over the body's bytes), since the library reads
the body as JSON text and these carry binary files.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from passeur.connectors.base import Parcel, ParcelFile
from passeur.connectors.errors import NeedsReauth
from passeur.connectors.http import EXTENSION, HttpConnector
from passeur.connectors.http.signing import new_secret
from passeur.domain.documents import DocumentKind
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.formats.corpus import GeneratedFile, generate
from tests.connectors.parcels import make_parcel

SECRET = new_secret()
LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")


@dataclass
class Verifying:
    """A receiver that trusts only what its verifier accepts."""

    verify: Callable[[bytes, dict[str, str]], Any]
    url: str = ""
    accepted: list[Any] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            self.accepted.append(self.verify(body, dict(request.headers)))
        except Exception as exc:  # whatever the verifier refuses with
            self.refused.append(f"{type(exc).__name__}: {exc}")
            return web.Response(status=401, text="invalid signature")
        return web.Response(status=204)


async def serve(verify: Callable[[bytes, dict[str, str]], Any]) -> AsyncIterator[Verifying]:
    receiver = Verifying(verify)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # the server keeps this socket: no port picked and freed
    await web.SockSite(runner, sock).start()
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


@pytest.fixture
async def library() -> AsyncIterator[Verifying]:
    """Verifies with the reference library's default call (the body parsed as JSON)."""
    async for receiver in serve(lambda body, headers: Webhook(SECRET).verify(body, headers)):
        yield receiver


def verify_bytes(body: bytes, headers: dict[str, str]) -> bytes:
    """The recipe docs/http.md gives for multipart and raw: HMAC-SHA256 over the bytes."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    lower = {k.lower(): v for k, v in headers.items()}
    signed = f"{lower['webhook-id']}.{lower['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in lower["webhook-signature"].split()]
    if not any(hmac.compare_digest(expected, s) for s in given):
        raise ValueError("no matching signature")
    return body


@pytest.fixture
async def by_bytes() -> AsyncIterator[Verifying]:
    async for receiver in serve(verify_bytes):
        yield receiver


@pytest.fixture
async def connector() -> AsyncIterator[HttpConnector]:
    made = HttpConnector(network=LOOPBACK)
    yield made
    await made.close()


def target(url: str, secret: str = SECRET, **config: object) -> Target:
    values = {"base_url": url, "allow_plain_http": True, "path": "/in/[invoice_type]", **config}
    return Target(1, 1, "http", effective_config(EXTENSION, values), {"signing_secret": secret})


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, GeneratedFile]:
    """One generated client's files, by type: a PDF, its Peppol UBL, a CODA statement."""
    return {f.type: f for f in generate(tmp_path / "corpus", clients=1, per_client=1)}


@pytest.fixture
def invoice(tmp_path: Path, corpus: dict[str, GeneratedFile]) -> Parcel:
    """A UBL invoice with its PDF (binary, not UTF-8), as the worker reads them."""
    parcel = make_parcel(tmp_path / "xml", corpus["ubl"].path.read_bytes())
    stored = corpus["pdf"].path
    content = stored.read_bytes()
    pdf = ParcelFile(
        "pdf",
        "2026-03-01_INV-2026-001_d7.pdf",
        "application/pdf",
        len(content),
        hashlib.sha256(content).hexdigest(),
        lambda: stored.open("rb"),
    )
    return replace(parcel, files=(parcel.main, pdf))


@pytest.fixture
def statement(tmp_path: Path, corpus: dict[str, GeneratedFile]) -> Parcel:
    return make_parcel(
        tmp_path / "coda",
        corpus["coda"].path.read_bytes(),
        document_id=8,
        kind=DocumentKind.ENRICHED_MOVEMENT_REPORT,
        media_type="text/plain",
    )


async def test_the_default_payload_verifies_with_the_reference_library(
    connector: HttpConnector, library: Verifying, invoice: Parcel
) -> None:
    [payload] = [f for f in EXTENSION.install_fields if f.name == "payload"]
    assert payload.default == "json"
    receipt = await connector.deliver(target(library.url), invoice)
    assert receipt.details["status"] == 204 and not library.refused
    [data] = library.accepted  # what the library returns once verified: the parsed JSON
    assert data["export"]["key"] == invoice.export_key
    sent = {f["role"]: base64.b64decode(f["content_base64"]) for f in data["files"]}
    assert {role: hashlib.sha256(b).hexdigest() for role, b in sent.items()} == {
        f.role: f.sha256 for f in invoice.files
    }


async def test_a_statement_and_a_test_delivery_verify_too(
    connector: HttpConnector, library: Verifying, statement: Parcel
) -> None:
    await connector.deliver(target(library.url), statement)
    tested = await connector.test_delivery(target(library.url))
    assert tested.ok, tested.message
    assert [d["type"] for d in library.accepted] == ["document.exported", "passeur.test"]
    assert not library.refused


@pytest.mark.parametrize("written", ["padded", "unpadded", "rotating"])
async def test_secrets_as_the_library_takes_them(
    connector: HttpConnector, library: Verifying, invoice: Parcel, written: str
) -> None:
    """The receiver holds SECRET; passeur may be given it without its '=' padding (as the
    library accepts), or beside a new secret during a rotation."""
    secret = {
        "padded": SECRET,
        "unpadded": SECRET.rstrip("="),
        "rotating": f"{new_secret()} {SECRET}",
    }[written]
    assert SECRET.endswith("=")
    await connector.deliver(target(library.url, secret), invoice)
    assert len(library.accepted) == 1 and not library.refused


@pytest.mark.parametrize("kind", ["multipart", "raw"])
async def test_multipart_and_raw_verify_over_the_bytes(
    connector: HttpConnector, by_bytes: Verifying, invoice: Parcel, kind: str
) -> None:
    await connector.deliver(target(by_bytes.url, payload=kind), invoice)
    [body] = by_bytes.accepted
    assert (b"%PDF-" in body) == (kind == "multipart")  # raw carries the original alone


async def test_a_refused_signature_is_named_as_such(
    connector: HttpConnector, library: Verifying, invoice: Parcel
) -> None:
    """Multipart read by the library's default verify is refused (it is not JSON text):
    the operator is told the signature or authentication was refused, not only
    "credentials"."""
    with pytest.raises(NeedsReauth) as caught:
        await connector.deliver(target(library.url, payload="multipart"), invoice)
    assert "refused the request's authentication or signature" in caught.value.message
    assert "401" in caught.value.message and not library.accepted
    [why] = library.refused
    assert "UnicodeDecodeError" in why or "JSONDecodeError" in why, json.dumps(why)
    tested = await connector.test_delivery(target(library.url, payload="multipart"))
    assert not tested.ok and "answered 401" in tested.message
    assert "refused the request's authentication or signature" in tested.message
