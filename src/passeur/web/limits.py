"""A cap on request bodies, checked before anything reads them.

The CSRF guard reads every form, and Starlette spools uploads to disk while it parses:
without a cap, a request of any size would be read whole before a route could refuse it.
Browsers send a Content-Length with every form; a body without one is refused.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from passeur.services.intake import MAX_SIZE

# The largest document, plus room for the form's other fields and multipart framing.
MAX_BODY = MAX_SIZE + 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, *, skip: str = "") -> None:
        self.app = app
        self.max_body = max_body
        self.skip = skip  # a path prefix with its own limit (the API answers problem details)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        skipped = bool(self.skip) and scope.get("path", "").startswith(self.skip)
        if (
            scope["type"] == "http"
            and scope["method"] not in ("GET", "HEAD", "OPTIONS")
            and not skipped
        ):
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            refusal = None
            if length is None and headers.get(b"transfer-encoding"):
                refusal = (411, b"A request body needs a Content-Length.")
            elif length is not None and (not length.isdigit() or int(length) > self.max_body):
                most = f"{self.max_body / 1_048_576:.0f} MB"
                refusal = (413, f"This request is larger than passeur accepts ({most}).".encode())
            if refusal is not None:
                await _answer(send, *refusal)
                return
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": text})
