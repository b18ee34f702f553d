"""A local OneDrive (Microsoft Graph v1.0) on loopback, faithful to reference/targets.md §4.

One port plays Microsoft's hosts: `/{tenant}/oauth2/v2.0/authorize` and `/token`
(login.microsoftonline.com; `OAuthServer`'s rules, `expires_in` a number, and a new
refresh token on every refresh: rotation is on, stricter than Microsoft, which leaves
the old one valid), and Graph under `/v1.0`.

* `PUT /v1.0/me/drive/root:/<path>:/content`: the file in one request (at most
  `simple_limit` bytes, 4 MB); missing folders are made; `@microsoft.graph.
  conflictBehavior` in the query: `replace` (the default), `fail` (409
  `nameAlreadyExists`) or `rename`. 201 when made, 200 when replaced.
* `POST /v1.0/me/drive/root:/<path>:/createUploadSession` (the parent must exist) →
  `uploadUrl`; `PUT <uploadUrl>` with `Content-Range`, fragments of multiples of 320 KiB
  but the last, in order (416 on an overlap), 202 with `nextExpectedRanges` until the
  last byte, then 201 with the item; `GET <uploadUrl>` says where it is; an unknown
  session is 404. The upload URL is pre-authenticated: a request that sends a token to
  it gets 401.
* `GET /v1.0/me/drive/root:/<path>` (an item, or 404 `itemNotFound`), `POST
  /v1.0/me/drive/root/children`, `/root:/<path>:/children` and `/items/{id}/children`
  (folders), `GET /v1.0/me/drive`.
* Paths ignore case; names with `" * : < > ? / \\ |`, a trailing dot or space are 400.
* Errors in Graph's envelope `{"error": {"code", "message", "innerError"}}`: 401
  `InvalidAuthenticationToken`, 429 `activityLimitReached` / 503 with `Retry-After`, 507
  `quotaLimitReached`.
* Files carry `file.hashes.quickXorHash`, computed here byte by byte as Microsoft
  documents it.

Faults: `fail_next(status, n, retry_after, reason)`, `quota` (bytes),
`cut_next_fragment_at` (the next fragment is kept up to that many bytes, then the
connection is dropped; a 503 instead with `cut_with_503`; with `down_after_cut`, every
session request after it is dropped unread until `down` is set back: the try ends cut off,
the session lives on), `expire_sessions()`, `expire_access_tokens()`, `revoke()`.
`cut_at_byte` cuts the fragment that crosses that byte of a session.
Sessions live `session_lifetime` seconds (their `expirationDateTime`); `session_bytes`
counts the bytes sessions received.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passeur.sandbox.faults import Faults, drop_connection
from passeur.sandbox.oauth_server import OAuthServer
from passeur.sandbox.threaded import Threaded

SIMPLE_LIMIT = 4 * 1024 * 1024
FRAGMENT_UNIT = 320 * 1024
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_FORBIDDEN = set('"*:<>?/\\|')


def quick_xor_hash(content: bytes) -> str:
    """Microsoft's QuickXorHash, as its documentation defines it: each byte XORed into a
    160-bit value at a position that moves 11 bits per byte (wrapping), then the length
    XORed into its last 8 bytes; base64 of the 20 little-endian bytes."""
    value, mask = 0, (1 << 160) - 1
    for index, byte in enumerate(content):
        shift = (index * 11) % 160
        value ^= ((byte << shift) | (byte >> (160 - shift))) & mask
    raw = bytearray(value.to_bytes(20, "little"))
    for i, b in enumerate(len(content).to_bytes(8, "little")):
        raw[12 + i] ^= b
    return base64.b64encode(bytes(raw)).decode()


@dataclass
class Item:
    id: str
    path: str  # as made: "/Invoice_import/…"
    content: bytes | None  # None: a folder
    etag: str = field(default_factory=lambda: secrets.token_hex(8))

    def resource(self) -> dict[str, Any]:
        parent, _, name = self.path.rpartition("/")
        out: dict[str, Any] = {
            "id": self.id,
            "name": name,
            "eTag": f'"{{{self.etag}}},1"',
            "parentReference": {"driveId": "b!sandbox", "path": f"/drive/root:{parent}"},
        }
        if self.content is None:
            out["folder"] = {"childCount": 0}
        else:
            out["size"] = len(self.content)
            out["file"] = {
                "mimeType": "application/octet-stream",
                "hashes": {"quickXorHash": quick_xor_hash(self.content)},
            }
        return out


@dataclass
class _Session:
    path: str
    conflict: str
    total: int | None = None
    received: bytearray = field(default_factory=bytearray)
    expires_at: float = 0.0  # epoch seconds


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class OneDriveServer(OAuthServer):
    expires_in_as_string = False

    def gives_refresh_token(self, asked: dict[str, str], first: bool) -> bool:
        """Only when the `offline_access` scope was asked for."""
        return "offline_access" in asked.get("scope", "").split()

    def __init__(self, *, access_lifetime: float = 3600.0, rotate: bool = True, **kw: Any):
        super().__init__(access_lifetime=access_lifetime, rotate=rotate, **kw)
        self.simple_limit = SIMPLE_LIMIT
        self.quota: int | None = None
        self.cut_next_fragment_at: int | None = None
        self.cut_at_byte: int | None = None  # the chunk that crosses this byte is cut there
        self.cut_with_503 = False  # a cut answers 503 instead of dropping the connection
        self.down_after_cut = False  # after the cut, sessions stay unreachable (`down`)
        self.down = False  # every request to a session is dropped unread
        self.session_bytes = 0  # bytes received by sessions (what a resume saves shows)
        self.session_lifetime = 86400.0  # seconds; a session past it answers 404
        self.items: dict[str, Item] = {}  # by lower-case path
        self.writes = 0
        self.calls: list[str] = []
        self.faults = Faults()
        self._sessions: dict[str, _Session] = {}
        self._ids = itertools.count(1)
        self._store = threading.Lock()
        self.app.router.routes.extend(
            [
                Route("/{tenant}/oauth2/v2.0/authorize", self._authorize),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route("/v1.0/me/drive", self._graph(self._drive)),
                Route(
                    "/v1.0/me/drive/root:/{rest:path}",
                    self._graph(self._by_path),
                    methods=["GET", "PUT", "POST"],
                ),
                Route(
                    "/v1.0/me/drive/root/children", self._graph(self._children), methods=["POST"]
                ),
                Route(
                    "/v1.0/me/drive/items/{item_id}/children",
                    self._graph(self._children),
                    methods=["POST"],
                ),
                Route("/upload/session/{session_id}", self._fragment, methods=["GET", "PUT"]),
            ]
        )

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/common/oauth2/v2.0/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/common/oauth2/v2.0/token"

    def settings(self) -> dict[str, str]:
        """The operator's settings that send passeur's OneDrive extension here."""
        return {
            "onedrive_client_id": self.client_id,
            "onedrive_authorize_url": self.authorize_url,
            "onedrive_token_url": self.token_url,
            "onedrive_api_url": f"{self.url}/v1.0",
        }

    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        retry_after: float | None = None,
        reason: str = "activityLimitReached",
    ) -> None:
        self.faults.add(status, n, retry_after, reason)

    def files(self) -> list[Item]:
        with self._store:
            return [i for i in self.items.values() if i.content is not None]

    def stored(self) -> list[tuple[str, bytes]]:
        """Every file held: (path, bytes)."""
        return [(f.path, f.content or b"") for f in self.files()]

    def delivered(self, receipt: Mapping[str, Any]) -> bytes | None:
        """The bytes held where passeur's receipt says the document is."""
        found = self.file(str(receipt.get("location", "")))
        return None if found is None else found.content

    def file(self, path: str) -> Item | None:
        with self._store:
            return self.items.get(path.lower())

    # Routes.

    def _graph(self, handler: Any) -> Any:
        async def route(request: Request) -> Response:
            self.calls.append(f"{request.method} {request.url.path}")
            fault = self.faults.take()
            if fault is not None:
                code = fault.reason if fault.status == 429 else "serviceNotAvailable"
                return _error(fault.status, code, "Throttled", self.faults.headers(fault))
            if self.bearer(request) != "valid":
                return _error(401, "InvalidAuthenticationToken", "Access token has expired.")
            try:
                return await handler(request)
            except _Refusal as refusal:
                return refusal.response

        return route

    async def _drive(self, request: Request) -> Response:
        return JSONResponse(
            {
                "id": "b!sandbox",
                "driveType": "business",
                "owner": {"user": {"displayName": "Sandbox Accountant"}},
                "quota": {"total": self.quota, "used": self._used()},
            }
        )

    async def _by_path(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        if rest.endswith(":/content") and request.method == "PUT":
            return await self._simple(request, "/" + unquote(rest[: -len(":/content")]))
        if rest.endswith(":/createUploadSession") and request.method == "POST":
            return await self._create_session(
                request, "/" + unquote(rest[: -len(":/createUploadSession")])
            )
        if rest.endswith(":/children") and request.method == "POST":
            parent = "/" + unquote(rest[: -len(":/children")])
            with self._store:
                folder = self.items.get(parent.lower())
            if folder is None or folder.content is not None:
                return _error(404, "itemNotFound", "The resource could not be found.")
            return await self._make_child(request, folder.path)
        if request.method == "GET":
            path = "/" + unquote(rest.rstrip(":"))
            with self._store:
                item = self.items.get(path.lower())
            if item is None:
                return _error(404, "itemNotFound", "The resource could not be found.")
            return JSONResponse(item.resource())
        return _error(400, "invalidRequest", "Invalid request")

    async def _children(self, request: Request) -> Response:
        parent = ""
        if "item_id" in request.path_params:
            with self._store:
                found = [i for i in self.items.values() if i.id == request.path_params["item_id"]]
            if not found or found[0].content is not None:
                return _error(404, "itemNotFound", "The resource could not be found.")
            parent = found[0].path
        return await self._make_child(request, parent)

    async def _make_child(self, request: Request, parent: str) -> Response:
        """A folder in `parent` ("" for the root)."""
        body = await request.json()
        with self._store:
            path = f"{parent}/{body.get('name', '')}"
            _check_path(path)
            existing = self.items.get(path.lower())
            if existing is not None:
                if body.get("@microsoft.graph.conflictBehavior", "fail") == "fail":
                    return _error(
                        409, "nameAlreadyExists", "An item with this name already exists."
                    )
                return JSONResponse(existing.resource(), status_code=200)
            item = self._make(path, None)
        return JSONResponse(item.resource(), status_code=201)

    async def _simple(self, request: Request, path: str) -> Response:
        body = await request.body()
        if len(body) > self.simple_limit:
            return _error(413, "requestTooLarge", "use an upload session above 4 MB")
        conflict = request.query_params.get("@microsoft.graph.conflictBehavior", "replace")
        with self._store:
            return self._put(path, body, conflict, make_parents=True)

    async def _create_session(self, request: Request, path: str) -> Response:
        body = await request.json()
        conflict = (body.get("item") or {}).get("@microsoft.graph.conflictBehavior", "fail")
        with self._store:
            _check_path(path)
            parent = path.rpartition("/")[0]
            if parent and parent.lower() not in self.items:
                return _error(404, "itemNotFound", "The parent folder does not exist.")
            if conflict == "fail" and path.lower() in self.items:
                return _error(409, "nameAlreadyExists", "An item with this name already exists.")
            session_id = secrets.token_urlsafe(20)
            session = _Session(path, conflict, expires_at=time.time() + self.session_lifetime)
            self._sessions[session_id] = session
        return JSONResponse(
            {
                "uploadUrl": f"{self.url}/upload/session/{session_id}",
                "expirationDateTime": _iso(session.expires_at),
                "nextExpectedRanges": ["0-"],
            }
        )

    def expire_sessions(self) -> None:
        """Microsoft forgets every open session: their URLs answer 404."""
        with self._store:
            self._sessions.clear()

    async def _fragment(self, request: Request) -> Response:
        self.calls.append(f"{request.method} /upload/session")
        if self.down and drop_connection(request):
            return Response(status_code=503)  # never reaches the client
        if self.down:
            return _error(503, "serviceNotAvailable", "the upload service is unreachable")
        if "authorization" in request.headers:
            return _error(401, "unauthenticated", "The upload URL is pre-authenticated")
        fault = self.faults.take()
        if fault is not None:
            return _error(fault.status, fault.reason, "Throttled", self.faults.headers(fault))
        session_id = request.path_params["session_id"]
        body = await request.body() if request.method == "PUT" else b""
        self.session_bytes += len(body)
        with self._store:
            session = self._sessions.get(session_id)
            if session is not None and session.expires_at <= time.time():
                del self._sessions[session_id]
                session = None
            if session is None:
                return _error(404, "itemNotFound", "The upload session was not found.")
            if request.method == "GET":
                return _expected(session)
            declared = _RANGE.match(request.headers.get("content-range", ""))
            if declared is None:
                return _error(400, "invalidRequest", "Content-Range is required")
            first, last, total = (int(g) for g in declared.groups())
            if first != len(session.received) or last - first + 1 != len(body):
                return _error(416, "invalidRange", "The fragment does not follow what was received")
            if last + 1 < total and len(body) % FRAGMENT_UNIT:
                return _error(400, "invalidRequest", "fragments must be multiples of 320 KiB")
            session.total = total
            cut, self.cut_next_fragment_at = self.cut_next_fragment_at, None
            at = self.cut_at_byte
            if cut is None and at is not None and len(session.received) + len(body) > at:
                cut, self.cut_at_byte = at - len(session.received), None
            session.received += body if cut is None else body[:cut]
            if cut is None and len(session.received) < total:
                return _expected(session, status=202)
            if cut is None:
                answer = self._put(
                    session.path, bytes(session.received), session.conflict, make_parents=False
                )
                if answer.status_code < 300:
                    del self._sessions[session_id]
                return answer
        # The fragment was cut: what arrived is kept, the connection goes.
        self.down = self.down_after_cut
        if not self.cut_with_503 and drop_connection(request):
            return Response(status_code=503)  # never reaches the client
        return _error(503, "serviceNotAvailable", "connection reset")

    def _put(self, path: str, content: bytes, conflict: str, *, make_parents: bool) -> Response:
        """Write a file (the store lock is held)."""
        _check_path(path)
        existing = self.items.get(path.lower())
        if existing is not None and existing.content is None:
            return _error(409, "nameAlreadyExists", "A folder has this name.")
        if existing is not None and conflict == "fail":
            return _error(409, "nameAlreadyExists", "An item with this name already exists.")
        if existing is not None and conflict == "rename":
            stem, dot, ext = path.rpartition(".")
            n = 1
            while f"{stem} {n}{dot}{ext}".lower() in self.items:
                n += 1
            path, existing = f"{stem} {n}{dot}{ext}", None
        grown = len(content) - (len(existing.content or b"") if existing else 0)
        if self.quota is not None and self._used() + grown > self.quota:
            return _error(507, "quotaLimitReached", "Insufficient Space Available")
        if make_parents:
            parts = path.strip("/").split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/" + "/".join(parts[:depth])
                if folder.lower() not in self.items:
                    self._make(folder, None)
        if existing is not None:
            existing.content, existing.etag = content, secrets.token_hex(8)
            self.writes += 1
            return JSONResponse(existing.resource(), status_code=200)
        item = self._make(path, content)
        self.writes += 1
        return JSONResponse(item.resource(), status_code=201)

    def _make(self, path: str, content: bytes | None) -> Item:
        item = Item(f"01SANDBOX{next(self._ids):06d}", path, content)
        self.items[path.lower()] = item
        return item

    def _used(self) -> int:
        return sum(len(i.content or b"") for i in self.items.values())


def _check_path(path: str) -> None:
    if len(path) > 400:
        raise _Refusal(_error(400, "invalidRequest", "The path is longer than 400 characters"))
    for name in path.strip("/").split("/"):
        if (
            not name
            or _FORBIDDEN & set(name)
            or name != name.rstrip(". ")
            or name != name.lstrip(" ")
        ):
            raise _Refusal(_error(400, "invalidRequest", f"The name {name!r} is not valid"))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _expected(session: _Session, *, status: int = 200) -> Response:
    return JSONResponse(
        {
            "expirationDateTime": _iso(session.expires_at),
            "nextExpectedRanges": [f"{len(session.received)}-"],
        },
        status_code=status,
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"request-id": secrets.token_hex(8), "date": "2026-12-01T00:00:00"},
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


ThreadedOneDriveServer = Threaded[OneDriveServer]
