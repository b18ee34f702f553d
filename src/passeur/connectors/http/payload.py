"""Request bodies: multipart, JSON or the raw file, built as parts and streamed.

A body is read twice, once to sign it and once to send it (and once more if an OAuth
token has to be renewed), so files are never held whole in memory. The metadata is the
same in every format:

    {"type": "document.exported",            # "passeur.test" for a test delivery
     "export": {"key": "psr-d7-i1-v1", "version": 1},
     "document": {"id", "kind", "direction", "family", "invoice_type", "number",
                  "issue_date"},
     "client": {"name", "uen_number", "external_id"},
     "files": [{"role", "name", "media_type", "size", "sha256"}]}

multipart: a `metadata` part (application/json), then one part per file named after its
role (`original`, `pdf`). json: the metadata, each file with `content_base64`. raw: the
original file alone, the metadata in `X-Passeur-*` headers (values percent-encoded UTF-8).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from passeur.connectors.base import Parcel, ParcelFile

CHUNK = 256 * 1024


@dataclass(frozen=True)
class FilePart:
    file: ParcelFile
    base64: bool = False

    @property
    def length(self) -> int:
        return 4 * ((self.file.size + 2) // 3) if self.base64 else self.file.size


@dataclass
class Body:
    parts: tuple[bytes | FilePart, ...]
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    main_sha256: str = ""  # of the original, as read (filled by the first pass)

    @property
    def length(self) -> int:
        return sum(len(p) if isinstance(p, bytes) else p.length for p in self.parts)

    def chunks(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
                continue
            digest = hashlib.sha256()
            carry = b""  # base64 is cut on multiples of 3 bytes, whatever read() returns
            with part.file.open() as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    if not part.base64:
                        yield chunk
                        continue
                    chunk = carry + chunk
                    cut = len(chunk) - len(chunk) % 3
                    carry = chunk[cut:]
                    yield base64.b64encode(chunk[:cut])
            if carry:
                yield base64.b64encode(carry)
            if part.file.role == "original":
                self.main_sha256 = digest.hexdigest()

    async def stream(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk


def metadata(parcel: Parcel) -> dict[str, Any]:
    document = parcel.document
    return {
        "type": "passeur.test" if parcel.test else "document.exported",
        "export": {"key": parcel.export_key, "version": parcel.version},
        "document": {
            "id": document.id,
            "kind": document.kind.value,
            "direction": document.direction.value if document.direction else None,
            "family": document.family.value,
            "invoice_type": document.family.invoice_type,
            "number": document.number,
            "issue_date": document.issue_date,
        },
        "client": {
            "name": parcel.client_name,
            "uen_number": parcel.variables.get("uen_number", ""),
            "external_id": parcel.variables.get("external_id", ""),
        },
        "files": [
            {
                "role": f.role,
                "name": f.name,
                "media_type": f.media_type,
                "size": f.size,
                "sha256": f.sha256,
            }
            for f in parcel.files
        ],
    }


def build(kind: str, parcel: Parcel) -> Body:
    if kind == "json":
        return _json(parcel)
    if kind == "raw":
        return _raw(parcel)
    return _multipart(parcel)


def _multipart(parcel: Parcel) -> Body:
    boundary = f"passeur-{secrets.token_hex(16)}"
    data = json.dumps(metadata(parcel), ensure_ascii=False).encode()
    parts: list[bytes | FilePart] = [
        _part_head(boundary, 'name="metadata"', "application/json; charset=utf-8"),
        data,
    ]
    for f in parcel.files:
        disposition = f'name="{f.role}"; filename="{_quoted(f.name)}"'
        parts += [b"\r\n", _part_head(boundary, disposition, f.media_type), FilePart(f)]
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return Body(tuple(parts), f"multipart/form-data; boundary={boundary}")


def _part_head(boundary: str, disposition: str, media_type: str) -> bytes:
    return (
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode()


def _json(parcel: Parcel) -> Body:
    # Serialise with a placeholder per file, then cut the text around the placeholders so
    # each file's base64 is streamed in its place.
    nonce = secrets.token_hex(8)
    data = metadata(parcel)
    for n, entry in enumerate(data["files"]):
        entry["content_base64"] = f"@{nonce}:{n}@"
    text = json.dumps(data, ensure_ascii=False)
    parts: list[bytes | FilePart] = []
    for n, f in enumerate(parcel.files):
        before, text = text.split(f"@{nonce}:{n}@", 1)
        parts += [before.encode(), FilePart(f, base64=True)]
    parts.append(text.encode())
    return Body(tuple(parts), "application/json")


def _raw(parcel: Parcel) -> Body:
    main = parcel.main
    data = metadata(parcel)
    values = {
        "Export-Key": parcel.export_key,
        "Export-Version": str(parcel.version),
        "Event": data["type"],
        "Document-Id": str(parcel.document.id),
        "Document-Kind": data["document"]["kind"],
        "Document-Family": data["document"]["family"],
        "Invoice-Type": data["document"]["invoice_type"],
        "Document-Number": parcel.document.number,
        "Issue-Date": parcel.document.issue_date,
        "Client-Name": parcel.client_name,
        "Client-Uen-Number": data["client"]["uen_number"],
        "Client-External-Id": data["client"]["external_id"],
        "File-Name": main.name,
        "File-Sha256": main.sha256,
    }
    headers = {f"X-Passeur-{k}": quote(v, safe=" ._-:@()+,=") for k, v in values.items() if v}
    headers["Content-Disposition"] = f'attachment; filename="{_quoted(main.name)}"'
    return Body((FilePart(main),), main.media_type, headers)


def _quoted(name: str) -> str:
    return name.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")
