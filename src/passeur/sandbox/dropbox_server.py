"""A local Dropbox (API v2) on loopback, faithful to reference/targets.md §2.

One port plays the three Dropbox hosts: `/oauth2/authorize` (www.dropbox.com),
`/oauth2/token` and the RPC routes `/2/...` (api.dropboxapi.com), and the upload routes
(content.dropboxapi.com). The OAuth side is `OAuthServer`'s (short lifetimes, optional
rotation, revocation), answering `expires_in` as a number and not rotating refresh tokens
by default, as Dropbox does.

* `/2/files/upload`: arguments in the `Dropbox-API-Arg` header, which must be header-safe
  (a character above 0x7E is refused: it must come as a JSON `\\uXXXX` escape); the body
  is the file, at most `upload_limit` bytes (150 MB). Write modes `add`, `overwrite`,
  `update`; `autorename`; identical content at the path is a no-op that answers the
  existing file; a folder at the path or a different file (in `add`) is 409
  `path/conflict/...`; `content_hash`, when given, must match. Parent folders appear.
* `/2/files/upload_session/start`, `append_v2`, `finish`: offsets checked (409
  `incorrect_offset` with `correct_offset`), `closed`, `not_found`.
* `/2/files/create_folder_v2`, `/2/files/get_metadata`, `/2/users/get_current_account`.
* Errors as Dropbox writes them: 400 plain text, 401 `expired_access_token` /
  `invalid_access_token`, 409 `{"error_summary", "error": {".tag": ...}}`, 429 with
  `Retry-After` and `too_many_requests` / `too_many_write_operations`.
* Paths ignore case, as Dropbox's do (`path_lower`), and keep the case they were made with.

Faults a test switches on: `fail_next(status, n, retry_after, reason)` (429 or 5xx on the
next n API calls), `quota` (bytes; a write beyond it is `insufficient_space`),
`drop_answer_after_append` (the next n appends are kept but the connection drops before
their answer; a 503 instead with `cut_with_503`; with `down_after_cut`, every session
request after it is dropped unread until `down` is set back: the try ends cut off, the
session lives on), `drop_answer_at_byte` (the append that takes a session past that
byte is kept, its answer lost), `expire_sessions()`, `expire_access_tokens()` and `revoke()`.
`session_bytes` counts the bytes session requests carried.
Uploaded files are kept (`files`) so tests compare them byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from passeur.sandbox.faults import Fault, Faults, drop_connection
from passeur.sandbox.oauth_server import OAuthServer
from passeur.sandbox.threaded import Threaded

UPLOAD_LIMIT = 150 * 1024 * 1024
_COMMIT_FIELDS = {
    "path",
    "mode",
    "autorename",
    "client_modified",
    "mute",
    "property_groups",
    "strict_conflict",
}
BLOCK = 4 * 1024 * 1024


@dataclass
class StoredFile:
    path_display: str
    content: bytes
    rev: str
    id: str
    server_modified: str

    @property
    def content_hash(self) -> str:
        return dropbox_hash(self.content)


@dataclass
class _Session:
    data: bytearray = field(default_factory=bytearray)
    closed: bool = False


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def dropbox_hash(content: bytes) -> str:
    """Dropbox's content hash: SHA-256 of the concatenated SHA-256 of each 4 MiB block."""
    blocks = b"".join(
        hashlib.sha256(content[i : i + BLOCK]).digest() for i in range(0, len(content), BLOCK)
    )
    return hashlib.sha256(blocks).hexdigest()


class DropboxServer(OAuthServer):
    expires_in_as_string = False
    refresh_answer_repeats_token = False

    def gives_refresh_token(self, asked: dict[str, str], first: bool) -> bool:
        """Only with offline access; otherwise the access token is all there is."""
        return asked.get("token_access_type") == "offline"

    def __init__(self, *, access_lifetime: float = 14400.0, rotate: bool = False, **kw: Any):
        super().__init__(access_lifetime=access_lifetime, rotate=rotate, **kw)
        self.upload_limit = UPLOAD_LIMIT
        self.quota: int | None = None
        self.drop_answer_after_append = 0
        self.drop_answer_at_byte: int | None = None  # the append crossing it loses its answer
        self.cut_with_503 = False  # a cut answers 503 instead of dropping the connection
        self.down_after_cut = False  # after a lost answer, sessions stay unreachable (`down`)
        self.down = False  # every request to a session is dropped unread
        self.session_bytes = 0  # bytes received by sessions (what a resume saves shows)
        self.files: dict[str, StoredFile] = {}  # by path_lower
        self.folders: dict[str, str] = {}  # path_lower -> path_display
        self.writes = 0  # files written (an identical re-upload writes nothing)
        self.calls: list[str] = []  # the routes called, in order
        self._sessions: dict[str, _Session] = {}
        self.faults = Faults()
        self._store_lock = threading.Lock()
        rpc = [
            ("/2/files/create_folder_v2", self._create_folder),
            ("/2/files/get_metadata", self._get_metadata),
            ("/2/users/get_current_account", self._current_account),
        ]
        content = [
            ("/2/files/upload", self._upload),
            ("/2/files/upload_session/start", self._session_start),
            ("/2/files/upload_session/append_v2", self._session_append),
            ("/2/files/upload_session/finish", self._session_finish),
        ]
        self.app.router.routes.extend(
            [
                Route("/oauth2/authorize", self._authorize),
                Route("/oauth2/token", self._token, methods=["POST"]),
                *(Route(p, self._rpc(h), methods=["POST"]) for p, h in rpc),
                *(Route(p, self._content(h), methods=["POST"]) for p, h in content),
            ]
        )

    # What tests and the demo read and switch.

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth2/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/token"

    def settings(self) -> dict[str, str]:
        """The operator's settings that send passeur's Dropbox extension here."""
        return {
            "dropbox_client_id": self.client_id,
            "dropbox_authorize_url": self.authorize_url,
            "dropbox_token_url": self.token_url,
            "dropbox_api_url": self.url,
            "dropbox_content_url": self.url,
        }

    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        retry_after: float | None = None,
        reason: str = "too_many_requests",
    ) -> None:
        self.faults.add(status, n, retry_after, reason)

    def file(self, path: str) -> StoredFile | None:
        with self._store_lock:
            return self.files.get(path.lower())

    def stored(self) -> list[tuple[str, bytes]]:
        """Every file held: (path, bytes)."""
        with self._store_lock:
            return [(f.path_display, f.content) for f in self.files.values()]

    def delivered(self, receipt: Mapping[str, Any]) -> bytes | None:
        """The bytes held where passeur's receipt says the document is."""
        found = self.file(str(receipt.get("location", "")))
        return None if found is None else found.content

    def used(self) -> int:
        return sum(len(f.content) for f in self.files.values())

    # The routes.

    def _rpc(self, handler: Any) -> Any:
        async def route(request: Request) -> Response:
            try:
                self._admit(request)
                try:
                    arg = json.loads(await request.body() or b"null")
                except ValueError:
                    return _bad_input("request body: could not decode input as JSON")
                return await handler(arg)
            except _Refusal as refusal:
                return refusal.response

        return route

    def _content(self, handler: Any) -> Any:
        async def route(request: Request) -> Response:
            try:
                self._admit(request)
                raw = request.headers.get("dropbox-api-arg")
                if raw is None:
                    return _bad_input("Missing Dropbox-API-Arg header")
                if any(ord(c) > 0x7E for c in raw):
                    return _bad_input(
                        "Dropbox-API-Arg: characters above 0x7E must be escaped as \\uXXXX"
                    )
                if request.headers.get("content-type") != "application/octet-stream":
                    return _bad_input("Content-Type must be application/octet-stream")
                arg = json.loads(raw)
                if self.down and "/upload_session/" in request.url.path:
                    if drop_connection(request):
                        return Response(status_code=503)  # never reaches the client
                    return PlainTextResponse("upstream connection reset", status_code=503)
                body, size = bytearray(), 0
                async for piece in request.stream():  # read to the end: the answer is whole
                    size += len(piece)
                    if size <= self.upload_limit:
                        body += piece
                if size > self.upload_limit:
                    return _bad_input(f"the request body exceeds {self.upload_limit} bytes")
                if "/upload_session/" in request.url.path:
                    self.session_bytes += size
                answer: Response | None = await handler(arg, bytes(body))
                if answer is None:  # the connection goes, the answer with it
                    if not self.cut_with_503 and drop_connection(request):
                        return Response(status_code=503)  # never reaches the client
                    return PlainTextResponse("upstream connection reset", status_code=503)
                return answer
            except _Refusal as refusal:
                return refusal.response
            except ValueError:
                return _bad_input("Dropbox-API-Arg: could not decode input as JSON")

        return route

    def _admit(self, request: Request) -> None:
        self.calls.append(request.url.path)
        fault = self.faults.take()
        if fault is not None:
            raise _Refusal(_fault_answer(fault, self.faults.headers(fault)))
        state = self.bearer(request)
        if state != "valid":
            tag = "expired_access_token" if state == "expired" else "invalid_access_token"
            raise _Refusal(_error(401, f"{tag}/", {".tag": tag}))

    async def _current_account(self, arg: Any) -> Response:
        return JSONResponse(
            {
                "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
                "name": {"display_name": "Sandbox Accountant"},
                "email": "accountant@sandbox.example",
                "email_verified": True,
            }
        )

    async def _get_metadata(self, arg: Any) -> Response:
        path = str(arg.get("path", ""))
        with self._store_lock:
            stored = self.files.get(path.lower())
            folder = self.folders.get(path.lower())
        if stored is not None:
            return JSONResponse(_file_metadata(stored))
        if folder is not None:
            return JSONResponse(_folder_metadata(folder))
        return _error(409, "path/not_found/", {".tag": "path", "path": {".tag": "not_found"}})

    async def _create_folder(self, arg: Any) -> Response:
        path = str(arg.get("path", ""))
        bad = _malformed(path)
        if bad is not None:
            return bad
        with self._store_lock:
            if path.lower() in self.folders or path.lower() in self.files:
                conflict = "folder" if path.lower() in self.folders else "file"
                return _error(
                    409,
                    f"path/conflict/{conflict}/",
                    {".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": conflict}}},
                )
            self._make_parents(path + "/x")
        return JSONResponse({"metadata": _folder_metadata(path)})

    async def _upload(self, arg: Any, body: bytes) -> Response:
        return self._write(arg, body, session_id="")

    def expire_sessions(self) -> None:
        """Dropbox forgets every open session (past its 7 days): `not_found`."""
        with self._store_lock:
            self._sessions.clear()

    async def _session_start(self, arg: Any, body: bytes) -> Response:
        session_id = secrets.token_urlsafe(16)
        with self._store_lock:
            self._sessions[session_id] = _Session(bytearray(body), bool(arg.get("close")))
        return JSONResponse({"session_id": session_id})

    async def _session_append(self, arg: Any, body: bytes) -> Response | None:
        with self._store_lock:
            session = self._lookup(arg.get("cursor") or {})
            session.data += body
            session.closed = bool(arg.get("close"))
            crossed = (
                self.drop_answer_at_byte is not None
                and len(session.data) > self.drop_answer_at_byte
            )
            if crossed:
                self.drop_answer_at_byte, self.drop_answer_after_append = None, 1
            lost = self.drop_answer_after_append > 0
            if lost:
                self.drop_answer_after_append -= 1
                self.down = self.down_after_cut
        if lost:  # kept, but the client never hears it: it must resume from the offset
            return None
        return JSONResponse(None)

    async def _session_finish(self, arg: Any, body: bytes) -> Response:
        cursor = arg.get("cursor") or {}
        with self._store_lock:
            session = self._lookup(cursor, finishing=True)
            session.data += body
            content = bytes(session.data)
        commit = dict(arg.get("commit") or {})
        unknown = set(commit) - _COMMIT_FIELDS
        if unknown:  # Dropbox refuses a field its CommitInfo does not have
            return _bad_input(f"request body: commit: unknown field {sorted(unknown)[0]!r}")
        if arg.get("content_hash"):
            commit["content_hash"] = arg["content_hash"]  # checked against the whole file
        answer = self._write(commit, content, session_id=cursor["session_id"])
        if answer.status_code == 200:
            with self._store_lock:
                self._sessions.pop(cursor["session_id"], None)
        return answer

    def _lookup(self, cursor: dict[str, Any], *, finishing: bool = False) -> _Session:
        """The session at the cursor's offset (the store lock is held). Finish wraps the
        lookup's error in `lookup_failed`, append gives it as it is."""
        session = self._sessions.get(str(cursor.get("session_id", "")))
        error: dict[str, Any] | None = None
        if session is None:
            error = {".tag": "not_found"}
        elif int(cursor.get("offset", -1)) != len(session.data):
            error = {".tag": "incorrect_offset", "correct_offset": len(session.data)}
        elif session.closed and finishing is False:
            error = {".tag": "closed"}
        if error is None:
            assert session is not None
            return session
        summary = f"{error['.tag']}/"
        if finishing:
            error, summary = (
                {".tag": "lookup_failed", "lookup_failed": error},
                "lookup_failed/" + summary,
            )
        raise _Refusal(_error(409, summary, error))

    def _write(self, arg: dict[str, Any], content: bytes, *, session_id: str) -> Response:
        path = str(arg.get("path", ""))
        bad = _malformed(path)
        if bad is not None:
            return bad
        given_hash = arg.get("content_hash")
        if given_hash and given_hash != dropbox_hash(content):
            return _error(409, "content_hash_mismatch/", {".tag": "content_hash_mismatch"})
        mode = arg.get("mode") or {".tag": "add"}
        mode_tag = mode.get(".tag", "add") if isinstance(mode, dict) else str(mode)
        with self._store_lock:
            key = path.lower()
            if key in self.folders:
                return _write_error("conflict", session_id, conflict="folder")
            existing = self.files.get(key)
            if (
                existing is not None
                and existing.content == content
                and not arg.get("strict_conflict")
            ):
                return JSONResponse(_file_metadata(existing))  # identical: nothing written
            if existing is not None:
                replace = mode_tag == "overwrite" or (
                    mode_tag == "update" and mode.get("update") == existing.rev
                )
                if not replace:
                    if not arg.get("autorename"):
                        return _write_error("conflict", session_id, conflict="file")
                    path, key = self._free_name(path)
                    existing = None
            grown = len(content) - (len(existing.content) if existing else 0)
            if self.quota is not None and self.used() + grown > self.quota:
                return _write_error("insufficient_space", session_id)
            self._make_parents(path)
            stored = StoredFile(
                path_display=existing.path_display if existing else path,
                content=content,
                rev=secrets.token_hex(8),
                id=existing.id if existing else f"id:{secrets.token_urlsafe(12)}",
                server_modified=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            self.files[key] = stored
            self.writes += 1
        return JSONResponse(_file_metadata(stored))

    def _free_name(self, path: str) -> tuple[str, str]:
        stem, dot, ext = path.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = path, ""
        n = 2
        while True:
            candidate = f"{stem} ({n}){dot}{ext}"
            if candidate.lower() not in self.files:
                return candidate, candidate.lower()
            n += 1

    def _make_parents(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folder = "/" + "/".join(parts[:i])
            self.folders.setdefault(folder.lower(), folder)


def _malformed(path: str) -> Response | None:
    if not path.startswith("/") or path.endswith("/") or "//" in path:
        return _error(
            409, "path/malformed_path/", {".tag": "path", "path": {".tag": "malformed_path"}}
        )
    for name in path.strip("/").split("/"):
        if name in (".", "..") or name != name.rstrip(". ") or any(c in '<>:"|?*\\' for c in name):
            return _error(
                409, "path/disallowed_name/", {".tag": "path", "path": {".tag": "disallowed_name"}}
            )
    return None


def _file_metadata(f: StoredFile) -> dict[str, Any]:
    return {
        ".tag": "file",
        "name": f.path_display.rsplit("/", 1)[1],
        "id": f.id,
        "client_modified": f.server_modified,
        "server_modified": f.server_modified,
        "rev": f.rev,
        "size": len(f.content),
        "path_lower": f.path_display.lower(),
        "path_display": f.path_display,
        "content_hash": f.content_hash,
        "is_downloadable": True,
    }


def _folder_metadata(path: str) -> dict[str, Any]:
    return {
        ".tag": "folder",
        "name": path.rsplit("/", 1)[1],
        "id": f"id:{hashlib.sha256(path.lower().encode()).hexdigest()[:16]}",
        "path_lower": path.lower(),
        "path_display": path,
    }


def _error(status: int, summary: str, error: dict[str, Any]) -> Response:
    body = {"error_summary": summary + secrets.token_hex(2), "error": error}
    return JSONResponse(body, status_code=status)


def _write_error(reason: str, session_id: str, *, conflict: str = "") -> Response:
    detail: dict[str, Any] = {".tag": reason}
    summary = f"path/{reason}/"
    if conflict:
        detail[reason] = {".tag": conflict}
        summary = f"path/{reason}/{conflict}/"
    error = {".tag": "path", "reason": detail, "upload_session_id": session_id}
    return _error(409, summary, error)


def _bad_input(text: str) -> Response:
    return PlainTextResponse(f"Error in call to API function: {text}", status_code=400)


def _fault_answer(fault: Fault, headers: dict[str, str]) -> Response:
    if fault.status == 429:
        body: dict[str, Any] = {
            "error_summary": f"{fault.reason}/",
            "error": {"reason": {".tag": fault.reason}, "retry_after": fault.retry_after or 1},
        }
        return JSONResponse(body, status_code=429, headers=headers)
    return PlainTextResponse("Internal Server Error", status_code=fault.status, headers=headers)


ThreadedDropboxServer = Threaded[DropboxServer]
