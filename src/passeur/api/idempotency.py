"""The Idempotency-Key middleware of the API's POSTs (services/idempotency.py has the rules).

It reads the whole body (the app's body limit bounds it), hashes it with the path, and
either replays a stored answer, refuses, or runs the request and stores its answer. An
answer that says nothing about the request itself (401, 403, 429, 5xx) is not stored, so
the same key can be tried again once the cause is gone.
"""

from __future__ import annotations

import hashlib
import re

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passeur.api import problems
from passeur.api.security import bearer_token
from passeur.bootstrap import App
from passeur.services import api_clients, idempotency
from passeur.services.api_clients import Unauthenticated

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples
_NOT_KEPT = {401, 403, 429}


class IdempotencyKeys:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if scope["type"] != "http" or scope["method"] != "POST" or HEADER not in headers:
            await self.app(scope, receive, send)
            return
        key = headers[HEADER].decode("latin-1")
        if not _KEY.match(key):
            await _send_problem(
                send, "invalid-input", "Idempotency-Key: 1 to 255 visible ASCII characters"
            )
            return
        app = scope["app"].state.passeur
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        try:
            caller = await run_in_threadpool(api_clients.authenticate, app, token)
        except Unauthenticated:
            await self.app(scope, receive, send)  # the route answers 401
            return
        body = await _read_body(receive)
        digest = _request_hash(scope, headers, body)
        state = await run_in_threadpool(idempotency.begin, app, caller.api_client_id, key, digest)
        if isinstance(state, idempotency.Answer):
            await _send(send, state.status, state.content_type, state.body.encode(), replayed=True)
            return
        if isinstance(state, idempotency.Mismatch):
            await _send_problem(
                send,
                "idempotency-key-reused",
                f"the key {key} was used with another request in the last 24 hours",
            )
            return
        if isinstance(state, idempotency.Running):
            await _send_problem(
                send,
                "idempotency-in-progress",
                f"a request with the key {key} is still running; try again shortly",
            )
            return
        await self._run(scope, body, send, app, caller.api_client_id, key)

    async def _run(
        self, scope: Scope, body: bytes, send: Send, app: App, client: int, key: str
    ) -> None:
        started: dict[str, object] = {}
        chunks: list[bytes] = []
        sent_body = False

        async def replay_body() -> Message:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(idempotency.release, app, client, key)
            raise
        status = int(started.get("status", 500))  # type: ignore[call-overload]
        if status >= 500 or status in _NOT_KEPT:
            await run_in_threadpool(idempotency.release, app, client, key)
            return
        content_type = ""
        for name, value in started.get("headers", []):  # type: ignore[attr-defined]
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
        text = b"".join(chunks).decode("utf-8", errors="replace")
        answer = idempotency.Answer(status, content_type, text)
        await run_in_threadpool(idempotency.finish, app, client, key, answer)


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _request_hash(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> str:
    """The request as the key's rule sees it: path, query, media type and body. A multipart
    boundary is random per request, so it is left out (the same upload sent again is the
    same request)."""
    content_type = headers.get(b"content-type", b"")
    found = re.search(rb'boundary="?([^";]+)"?', content_type)
    if found:
        boundary = found.group(1)
        body = body.replace(boundary, b"")
        content_type = content_type.replace(boundary, b"")
    digest = hashlib.sha256()
    for part in (scope["path"].encode(), scope.get("query_string", b""), content_type, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _send(
    send: Send, status: int, content_type: str, body: bytes, *, replayed: bool = False
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(send: Send, slug: str, detail: str) -> None:
    import json

    status = problems.TYPES[slug][0]
    payload = json.dumps(problems.body(slug, detail)).encode()
    await _send(send, status, problems.MEDIA_TYPE, payload)
