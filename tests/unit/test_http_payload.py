"""HTTP bodies: streamed in parts, identical on every pass, parseable by ordinary tools."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel, ParcelFile
from passeur.connectors.http import payload
from passeur.connectors.http.extension import PAYLOADS
from passeur.domain.documents import DocumentKind
from tests.connectors.parcels import make_parcel

CONTENT = bytes(range(256)) * 41 + b"tail"  # not a multiple of 3


class Trickle(io.BytesIO):
    """A reader that returns fewer bytes than asked (as network-backed stores do)."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(min(size or 1, 1000) if size and size > 0 else 1000)


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path, CONTENT)


def whole(body: payload.Body) -> bytes:
    data = b"".join(body.chunks())
    assert len(data) == body.length, "Content-Length must match what is sent"
    return data


def test_json_carries_metadata_and_the_file_in_base64(parcel: Parcel) -> None:
    body = payload.build("json", parcel)
    data = json.loads(whole(body))
    assert body.content_type == "application/json"
    assert data["type"] == "document.exported"
    assert data["export"] == {"key": "psr-d7-i1-v1", "version": 1}
    assert data["document"]["invoice_type"] == "purchases"
    assert data["client"] == {
        "name": "Bakkerij Janssens",
        "uen_number": "0403170701",
        "external_id": "C042",
    }
    [file] = data["files"]
    assert base64.b64decode(file["content_base64"]) == CONTENT
    assert file["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert body.main_sha256 == file["sha256"]


def test_base64_is_right_whatever_the_reader_returns(parcel: Parcel) -> None:
    trickling = replace(parcel.main, opener=lambda: Trickle(CONTENT))
    body = payload.build("json", replace(parcel, files=(trickling,)))
    [file] = json.loads(whole(body))["files"]
    assert base64.b64decode(file["content_base64"], validate=True) == CONTENT


def test_multipart_has_a_metadata_part_and_one_part_per_file(parcel: Parcel) -> None:
    pdf = ParcelFile("pdf", "doc.pdf", "application/pdf", 4, "x", lambda: io.BytesIO(b"%PDF"))
    body = payload.build("multipart", replace(parcel, files=(parcel.main, pdf)))
    raw = f"Content-Type: {body.content_type}\r\n\r\n".encode() + whole(body)
    parts = list(message_from_bytes(raw, policy=policy.HTTP).iter_parts())
    assert [p.get_param("name", header="content-disposition") for p in parts] == [
        "metadata",
        "original",
        "pdf",
    ]
    metadata = json.loads(parts[0].get_payload(decode=True))
    assert [f["role"] for f in metadata["files"]] == ["original", "pdf"]
    assert parts[1].get_filename() == parcel.main.name
    assert parts[1].get_payload(decode=True) == CONTENT
    assert parts[2].get_payload(decode=True) == b"%PDF"


def test_raw_sends_the_file_alone_with_metadata_headers(tmp_path: Path) -> None:
    coda = make_parcel(
        tmp_path,
        b"0000002030" * 13,
        kind=DocumentKind.ENRICHED_MOVEMENT_REPORT,
        media_type="text/plain",
    )
    body = payload.build("raw", replace(coda, client_name="Bäckerei Müller & Söhne"))
    assert whole(body) == b"0000002030" * 13
    assert body.content_type == "text/plain"
    assert body.headers["X-Passeur-Invoice-Type"] == "cod"
    assert body.headers["X-Passeur-Document-Family"] == "statements"
    assert body.headers["X-Passeur-File-Name"].endswith(".cod")
    assert body.headers["X-Passeur-Client-Name"] == "B%C3%A4ckerei M%C3%BCller %26 S%C3%B6hne"
    assert body.headers["Content-Disposition"].endswith('.cod"')
    assert all(v.isascii() and "\n" not in v for v in body.headers.values())


def test_a_body_reads_the_same_on_every_pass(parcel: Parcel) -> None:
    for kind in PAYLOADS:
        body = payload.build(kind, parcel)
        assert whole(body) == whole(body)


def test_a_test_delivery_says_so(parcel: Parcel) -> None:
    data = json.loads(whole(payload.build("json", replace(parcel, test=True))))
    assert data["type"] == "passeur.test"
