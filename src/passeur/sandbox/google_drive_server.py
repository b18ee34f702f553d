"""A local Google Drive (API v3) on loopback, faithful to reference/targets.md §3.

One port plays Google's hosts: `/o/oauth2/v2/auth` (accounts.google.com), `/token`
(oauth2.googleapis.com; `OAuthServer`'s rules, `expires_in` a number, refresh tokens not
rotated), `/drive/v3/...` and `/upload/drive/v3/...` (www.googleapis.com).

* Items are known by id, not by path; **names may repeat in a folder** (Drive allows it).
  `root` is My Drive. A create with an `id` that exists answers 409.
* `GET /drive/v3/files?q=...`: the subset of the query language clients use, joined by
  `and`: `name = '...'` (with `\\'` escapes), `'<id>' in parents`, `mimeType = '...'`,
  `mimeType != '...'`, `trashed = false`. Anything else is 400 `invalid`.
* `POST /drive/v3/files` (metadata only: folders), `GET /drive/v3/files/<id>`,
  `GET /drive/v3/about`.
* `POST /upload/drive/v3/files?uploadType=multipart` (`multipart/related`: JSON metadata,
  then the media; at most `multipart_limit` bytes, 5 MB) and `uploadType=resumable`
  (answers the session URI in `Location`); `PUT <session URI>` with `Content-Range`:
  chunks other than the last must be multiples of 256 KiB; 308 with `Range` until the last
  byte, then 200 with the file; `bytes */<total>` asks where the session is; an unknown
  session is 404. The session URI needs no token (it carries the upload id).
* Errors in Google's envelope `{"error": {"code", "message", "errors": [{"domain",
  "reason", "message"}]}}`: 401 `authError`, 403 `storageQuotaExceeded`, 403
  `userRateLimitExceeded` / 429 `rateLimitExceeded`, 5xx `backendError`.

Faults: `fail_next(status, n, retry_after, reason)`, `quota` (bytes), `cut_next_chunk_at`
(the next chunk is kept up to that many bytes, then the connection is dropped; a 503
instead with `cut_with_503`; with `down_after_cut`, every session request after it is
dropped unread until `down` is set back: the try ends cut off, the session lives on),
`cut_at_byte` (the chunk crossing that byte of a session is cut there), `expire_sessions()`,
`expire_access_tokens()`, `revoke()`. `session_bytes` counts the
bytes sessions received. Files are kept
(`items`) so tests compare them byte for byte.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passeur.sandbox.faults import Faults, drop_connection
from passeur.sandbox.oauth_server import OAuthServer
from passeur.sandbox.threaded import Threaded

FOLDER = "application/vnd.google-apps.folder"
MULTIPART_LIMIT = 5 * 1024 * 1024
CHUNK_UNIT = 256 * 1024
ROOT = "0AROOTFOLDERuk9PVA"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_CLAUSE = re.compile(
    r"\s*(?:"
    r"(?P<field>name|mimeType)\s*(?P<op>!=|=)\s*'(?P<value>(?:[^'\\]|\\.)*)'"
    r"|'(?P<parent>(?:[^'\\]|\\.)*)'\s+in\s+parents"
    r"|trashed\s*=\s*(?P<trashed>true|false)"
    r")\s*"
)
_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+)$")


@dataclass
class Item:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    created: int  # order of creation (createdTime is derived from it)
    content: bytes | None = None
    app_properties: dict[str, str] = field(default_factory=dict)
    trashed: bool = False

    def resource(self) -> dict[str, Any]:
        made = (_EPOCH + timedelta(milliseconds=self.created)).isoformat().replace("+00:00", "Z")
        out: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": self.parents,
            "createdTime": made,
            "trashed": self.trashed,
            "appProperties": self.app_properties,
        }
        if self.content is not None:
            out["size"] = str(len(self.content))
            out["md5Checksum"] = hashlib.md5(self.content).hexdigest()
        return out


@dataclass
class _Session:
    metadata: dict[str, Any]
    total: int | None
    received: bytearray = field(default_factory=bytearray)


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class GoogleDriveServer(OAuthServer):
    expires_in_as_string = False
    refresh_answer_repeats_token = False

    def gives_refresh_token(self, asked: dict[str, str], first: bool) -> bool:
        """Offline access only, and only on the first consent unless the consent screen is
        asked for again (`prompt=consent`)."""
        return asked.get("access_type") == "offline" and (first or asked.get("prompt") == "consent")

    def __init__(self, *, access_lifetime: float = 3599.0, rotate: bool = False, **kw: Any):
        super().__init__(access_lifetime=access_lifetime, rotate=rotate, **kw)
        self.multipart_limit = MULTIPART_LIMIT
        self.quota: int | None = None
        self.cut_next_chunk_at: int | None = None
        self.cut_at_byte: int | None = None  # the chunk that crosses this byte is cut there
        self.cut_with_503 = False  # a cut answers 503 instead of dropping the connection
        self.down_after_cut = False  # after the cut, sessions stay unreachable (`down`)
        self.down = False  # every request to a session is dropped unread
        self.session_bytes = 0  # bytes received by sessions (what a resume saves shows)
        self.items: dict[str, Item] = {ROOT: Item(ROOT, "My Drive", FOLDER, [], 0)}
        self.creates = 0  # items created (folders and files)
        self.calls: list[str] = []  # "METHOD path?uploadType", in order
        self.faults = Faults()
        self._sessions: dict[str, _Session] = {}
        self._counter = itertools.count(1)
        self._store = threading.Lock()
        self.app.router.routes.extend(
            [
                Route("/o/oauth2/v2/auth", self._authorize),
                Route("/drive/v3/about", self._api(self._about)),
                Route("/drive/v3/files", self._api(self._files), methods=["GET", "POST"]),
                Route("/drive/v3/files/{file_id}", self._api(self._get)),
                Route("/upload/drive/v3/files", self._upload, methods=["POST", "PUT"]),
            ]
        )

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/o/oauth2/v2/auth"

    def settings(self) -> dict[str, str]:
        """The operator's settings that send passeur's Google Drive extension here."""
        return {
            "google_drive_client_id": self.client_id,
            "google_drive_authorize_url": self.authorize_url,
            "google_drive_token_url": self.token_url,
            "google_drive_api_url": self.url,
        }

    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        retry_after: float | None = None,
        reason: str = "rateLimitExceeded",
    ) -> None:
        self.faults.add(status, n, retry_after, reason)

    def add_folder(self, name: str, parent: str) -> str:
        """Make a folder as another client of the account would; its id."""
        made = self._create({"name": name, "mimeType": FOLDER, "parents": [parent]}, None)
        return str(json.loads(bytes(made.body))["id"])

    def files(self) -> list[Item]:
        with self._store:
            return [i for i in self.items.values() if i.content is not None and not i.trashed]

    def stored(self) -> list[tuple[str, bytes]]:
        """Every file held: (path, bytes)."""
        return [(self.path_of(i), i.content or b"") for i in self.files()]

    def delivered(self, receipt: Mapping[str, Any]) -> bytes | None:
        """The bytes of the file passeur's receipt names (by its id)."""
        with self._store:
            found = self.items.get(str(receipt.get("id", "")))
        return None if found is None or found.trashed else found.content

    def path_of(self, item: Item) -> str:
        names = [item.name]
        parent = item.parents[0] if item.parents else ROOT
        while parent != ROOT:
            folder = self.items[parent]
            names.append(folder.name)
            parent = folder.parents[0]
        return "/" + "/".join(reversed(names))

    # Routes.

    def _api(self, handler: Any) -> Any:
        async def route(request: Request) -> Response:
            try:
                self._admit(request, authorised=True)
                return await handler(request)
            except _Refusal as refusal:
                return refusal.response

        return route

    def _admit(self, request: Request, *, authorised: bool) -> None:
        kind = request.query_params.get("uploadType", "")
        self.calls.append(f"{request.method} {request.url.path}{'?' + kind if kind else ''}")
        fault = self.faults.take()
        if fault is not None:
            domain = "usageLimits" if fault.status in (403, 429) else "global"
            reason = fault.reason if fault.status in (403, 429) else "backendError"
            raise _Refusal(_error(fault.status, reason, reason, self.faults.headers(fault), domain))
        if authorised and self.bearer(request) != "valid":
            raise _Refusal(_error(401, "authError", "Invalid Credentials"))

    async def _about(self, request: Request) -> Response:
        return JSONResponse(
            {
                "user": {
                    "displayName": "Sandbox Accountant",
                    "emailAddress": "accountant@sandbox.example",
                }
            }
        )

    async def _get(self, request: Request) -> Response:
        with self._store:
            item = self.items.get(_alias(request.path_params["file_id"]))
        if item is None:
            file_id = request.path_params["file_id"]
            return _error(404, "notFound", f"File not found: {file_id}.")
        return JSONResponse(item.resource())

    async def _files(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                metadata = json.loads(await request.body() or b"{}")
            except ValueError:
                return _error(400, "parseError", "Parse Error")
            return self._create(metadata, None)
        try:
            wanted = _query(request.query_params.get("q", ""))
        except ValueError as exc:
            return _error(400, "invalid", f"Invalid Value: {exc}")
        size = int(request.query_params.get("pageSize") or 100)
        start = int(request.query_params.get("pageToken") or 0)
        with self._store:
            found = [i.resource() for i in self.items.values() if i.id != ROOT and wanted(i)]
        page: dict[str, Any] = {"kind": "drive#fileList", "files": found[start : start + size]}
        if start + size < len(found):
            page["nextPageToken"] = str(start + size)
        return JSONResponse(page)

    def _create(self, metadata: dict[str, Any], content: bytes | None) -> Response:
        with self._store:
            given = metadata.get("id")
            if given and given in self.items:
                return _error(409, "duplicate", "A file already exists with the provided ID.")
            parents = [_alias(p) for p in metadata.get("parents") or [ROOT]]
            if any(p not in self.items or self.items[p].mime_type != FOLDER for p in parents):
                return _error(404, "notFound", f"File not found: {parents[0]}.")
            if content is not None and self.quota is not None:
                used = sum(len(i.content or b"") for i in self.items.values())
                if used + len(content) > self.quota:
                    return _error(
                        403,
                        "storageQuotaExceeded",
                        "The user's Drive storage quota has been exceeded.",
                    )
            mime_type = str(metadata.get("mimeType") or "application/octet-stream")
            item = Item(
                id=given or secrets.token_urlsafe(24)[:33],
                name=str(metadata.get("name") or "Untitled"),
                mime_type=mime_type,
                parents=parents,
                created=next(self._counter),
                content=None if mime_type == FOLDER else (content or b""),
                app_properties=dict(metadata.get("appProperties") or {}),
            )
            self.items[item.id] = item
            self.creates += 1
        return JSONResponse(item.resource())

    async def _upload(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                self._admit(request, authorised=False)
            except _Refusal as refusal:
                return refusal.response
            return await self._chunk(request)
        try:
            self._admit(request, authorised=True)
        except _Refusal as refusal:
            return refusal.response
        kind = request.query_params.get("uploadType")
        if kind == "multipart":
            return await self._multipart(request)
        if kind == "resumable":
            metadata = json.loads(await request.body() or b"{}")
            length = request.headers.get("x-upload-content-length")
            upload_id = secrets.token_urlsafe(20)
            with self._store:
                self._sessions[upload_id] = _Session(metadata, int(length) if length else None)
            where = f"{self.url}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
            return Response(status_code=200, headers={"Location": where})
        return _error(400, "invalid", f"Invalid Value: uploadType={kind}")

    async def _multipart(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > self.multipart_limit:
            return _error(
                400, "badRequest", "Media too large for a multipart upload; use resumable"
            )
        found = re.search(r"boundary=\"?([^\";]+)\"?", request.headers.get("content-type", ""))
        if not request.headers.get("content-type", "").startswith("multipart/related") or not found:
            return _error(400, "badRequest", "Content-Type must be multipart/related")
        parts = body.split(b"--" + found.group(1).encode())
        if len(parts) != 4 or parts[3].strip() != b"--":
            return _error(400, "badRequest", "a multipart upload has metadata, then media")
        head, _, meta = parts[1].partition(b"\r\n\r\n")
        _, _, media = parts[2].partition(b"\r\n\r\n")
        if b"application/json" not in head.lower():
            return _error(400, "badRequest", "the first part must be the JSON metadata")
        return self._create(json.loads(meta), media[:-2] if media.endswith(b"\r\n") else media)

    def expire_sessions(self) -> None:
        """Google forgets every open session (past its week): their URIs answer 404."""
        with self._store:
            self._sessions.clear()

    async def _chunk(self, request: Request) -> Response:
        if self.down and drop_connection(request):
            return Response(status_code=503)  # never reaches the client
        if self.down:
            return _error(503, "backendError", "the upload service is unreachable")
        upload_id = request.query_params.get("upload_id", "")
        declared = _RANGE.match(request.headers.get("content-range", ""))
        body = await request.body()
        self.session_bytes += len(body)
        with self._store:
            session = self._sessions.get(upload_id)
            if session is None:
                return _error(404, "notFound", "Upload session not found or expired")
            if declared is None:
                return _error(400, "badRequest", "Content-Range is missing or malformed")
            total, cut = int(declared.group(3)), None
            if declared.group(1) is not None:  # bytes, not a question about the session
                first, last = int(declared.group(1)), int(declared.group(2))
                if first != len(session.received) or last - first + 1 != len(body):
                    return _resume_incomplete(len(session.received))
                if last + 1 < total and len(body) % CHUNK_UNIT:
                    return _error(400, "badRequest", "chunks must be multiples of 256 KiB")
                cut, self.cut_next_chunk_at = self.cut_next_chunk_at, None
                at = self.cut_at_byte
                if cut is None and at is not None and len(session.received) + len(body) > at:
                    cut, self.cut_at_byte = at - len(session.received), None
                session.received += body if cut is None else body[:cut]
            if cut is None and len(session.received) < total:
                return _resume_incomplete(len(session.received))
            content = bytes(session.received)
        if cut is not None:  # what arrived is kept, the connection goes
            self.down = self.down_after_cut
            if not self.cut_with_503 and drop_connection(request):
                return Response(status_code=503)  # never reaches the client
            return _error(503, "backendError", "connection reset")
        answer = self._create(session.metadata, content)
        if answer.status_code == 200:
            with self._store:
                self._sessions.pop(upload_id, None)
        return answer


def _alias(item_id: str) -> str:
    return ROOT if item_id == "root" else item_id


def _query(q: str) -> Any:
    """A predicate for the supported subset of Drive's query language."""
    tests = []
    position = 0
    while position < len(q):
        found = _CLAUSE.match(q, position)
        if found is None:
            raise ValueError(f"q near {q[position : position + 30]!r}")
        position = found.end()
        rest = q[position:]
        if rest and not rest.startswith("and "):
            raise ValueError(f"q near {rest[:30]!r}")
        position += 4 if rest else 0
        tests.append(_test(found))
    return lambda item: all(test(item) for test in tests)


def _test(found: re.Match[str]) -> Any:
    def unescape(text: str) -> str:
        return re.sub(r"\\(.)", r"\1", text)

    if found.group("parent") is not None:
        parent = _alias(unescape(found.group("parent")))
        return lambda item: parent in item.parents
    if found.group("trashed") is not None:
        trashed = found.group("trashed") == "true"
        return lambda item: item.trashed == trashed
    value, equal = unescape(found.group("value")), found.group("op") == "="
    attribute = "name" if found.group("field") == "name" else "mime_type"
    return lambda item: (getattr(item, attribute) == value) == equal


def _resume_incomplete(received: int) -> Response:
    headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
    return Response(status_code=308, headers=headers)


def _error(
    status: int,
    reason: str,
    message: str,
    headers: dict[str, str] | None = None,
    domain: str = "global",
) -> Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


ThreadedGoogleDriveServer = Threaded[GoogleDriveServer]
