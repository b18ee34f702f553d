"""The API's body limits, checked before anything reads a body, answered as problems:
1 MiB for JSON and forms, the largest document plus 1 MiB for a multipart upload."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from passeur.api import problems
from passeur.services.intake import MAX_SIZE

MAX_JSON = 1024 * 1024
MAX_UPLOAD = MAX_SIZE + 1024 * 1024


class ApiBodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
            most = MAX_UPLOAD if multipart else MAX_JSON
            refusal = None
            if length is None and headers.get(b"transfer-encoding"):
                refusal = ("length-required", "send a Content-Length with the body")
            elif length is not None and (not length.isdigit() or int(length) > most):
                refusal = ("payload-too-large", f"this body may hold at most {most} bytes")
            if refusal is not None:
                slug, detail = refusal
                payload = json.dumps(problems.body(slug, detail)).encode()
                status = problems.TYPES[slug][0]
                kind = (b"content-type", problems.MEDIA_TYPE.encode())
                headers_out = [kind, (b"connection", b"close")]
                await send(
                    {"type": "http.response.start", "status": status, "headers": headers_out}
                )
                await send({"type": "http.response.body", "body": payload})
                return
        await self.app(scope, receive, send)
