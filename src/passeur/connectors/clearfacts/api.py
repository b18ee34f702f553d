"""ClearFacts' GraphQL API over the shared outbound client, and what its answers mean.

One endpoint, `POST {api_url}/graphql`. Queries go as JSON; the upload goes as
`multipart/form-data` with the parts `query`, `variables` (JSON) and `file` (the bytes,
streamed from the blob store), as ClearFacts documents it. A call carries a bearer
token: the installation's personal access token when it has one, else an access token
of its sign-in (`target.tokens`, once more with a new one after a 401).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from passeur.connectors import oauth, retry_after
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.outbound import Answer, Body, Outbound
from passeur.domain.extensions import Target

READ_AT_MOST = 256 * 1024  # an answer is a little JSON (the administrations list)
PIECE = 64 * 1024
DEFAULT_URL = "https://api.clearfacts.be"

ADMINISTRATIONS = (
    "query admins { administrations { name, companyNumber, emails { type, emailAddress } } }"
)
UPLOAD = (
    "mutation upload ($vatNumber: String!, $fileName: String!, "
    "$invoiceType: InvoiceTypeArgument!) { uploadFile (vatnumber: $vatNumber, "
    "filename: $fileName, invoicetype: $invoiceType) { uuid, amountOfPages } }"
)


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any  # the GraphQL `data`, or None
    errors: list[str]  # the GraphQL errors' messages
    headers: dict[str, str]
    text: str


@dataclass(frozen=True)
class Upload:
    """The file part of a multipart upload: its name, type, size and bytes."""

    file_name: str
    media_type: str
    size: int
    opener: Callable[[], BinaryIO]


class ClearfactsApi:
    """The calls one try makes with one installation's credentials."""

    def __init__(self, http: Outbound, target: Target) -> None:
        self.http = http
        self.url = str(target.get("api_url") or DEFAULT_URL).rstrip("/") + "/graphql"
        self.personal = target.secrets.get("personal_token", "")
        self.tokens = target.tokens
        if not self.personal and self.tokens is None:
            raise NeedsReauth("give a personal access token or sign in with ClearFacts")

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> Reply:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return await self._send(headers, lambda: body)

    async def upload(self, variables: dict[str, Any], upload: Upload) -> Reply:
        boundary = "passeur-" + secrets.token_hex(12)
        head, tail = _parts(boundary, variables, upload)
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + upload.size + len(tail)),
            "Accept": "application/json",
        }
        return await self._send(headers, lambda: _stream(head, upload, tail))

    async def _send(self, headers: dict[str, str], body: Callable[[], Body]) -> Reply:
        async def send(token: str) -> Answer:
            sent = {**headers, "Authorization": f"Bearer {token}"}
            return await self.http.request(
                "POST", self.url, headers=sent, body=body(), read_at_most=READ_AT_MOST
            )

        if self.personal:
            answer = await send(self.personal)
        else:
            assert self.tokens is not None
            answer = await oauth.with_token(self.tokens, send)
        return _reply(answer)


def _parts(boundary: str, variables: dict[str, Any], upload: Upload) -> tuple[bytes, bytes]:
    """The multipart body around the file's bytes: `query`, `variables`, then `file`."""
    name = upload.file_name.replace("\\", "_").replace('"', "_")
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="query"\r\n\r\n'
        f"{UPLOAD}\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="variables"\r\n\r\n'
        f"{json.dumps(variables)}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {upload.media_type}\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


async def _stream(head: bytes, upload: Upload, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    with upload.opener() as stream:
        while piece := stream.read(PIECE):
            yield piece
    yield tail


def _reply(answer: Answer) -> Reply:
    data: Any = None
    errors: list[str] = []
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        data = body.get("data")
        for error in body.get("errors") or ():
            message = error.get("message") if isinstance(error, dict) else error
            errors.append(str(message)[:300])
    return Reply(answer.status, data, errors, answer.headers, answer.text()[:300])


def failure(reply: Reply, where: str) -> ConnectorError | None:
    """What an answer means when it is not a GraphQL answer (HTTP-level): None when it is
    one, for the caller to read."""
    status, said = reply.status, "; ".join(reply.errors) or reply.text or str(reply.status)
    if status == 401:
        return NeedsReauth(
            f"ClearFacts refused the token ({said}): sign in again or give a new one"
        )
    if status == 403:
        return Misconfigured(
            f"ClearFacts does not allow {where} with this token ({said}): it needs the scopes "
            "read_administrations and upload_document"
        )
    if status == 429:
        wait = retry_after.parse(reply.headers.get("retry-after"))
        return RateLimited("ClearFacts asks us to slow down (429)", retry_after=wait or 30.0)
    if status >= 500:
        return TransientError(f"ClearFacts failed ({status}) on {where}")
    if status == 413:
        return Rejected(f"ClearFacts refused the file as too large ({said})")
    if not 200 <= status < 300:
        return Rejected(f"ClearFacts refused {where} ({status}: {said})")
    if reply.data is None and not reply.errors:
        return TransientError(f"ClearFacts answered {where} without GraphQL data")
    return None


def internal(reply: Reply) -> bool:
    """A GraphQL server hides its own failures behind this message: worth another try."""
    return any(e.lower().startswith("internal server error") for e in reply.errors)
