"""RFC 9457 problem details: every error of the API, with a stable `type` per error.

The types are relative URIs under /api/v1/problems/; docs/api.md lists them. A client
branches on `type` (stable), shows `title` (stable per type) and `detail` (this case).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

MEDIA_TYPE = "application/problem+json"
BASE = "/api/v1/problems/"

# type slug → (status, title). The slug and the title never change once published.
TYPES: dict[str, tuple[int, str]] = {
    "invalid-input": (400, "The request could not be used"),
    "malformed-body": (400, "The body is not valid JSON"),
    "unauthenticated": (401, "A valid bearer token is needed"),
    "invalid-client": (401, "The client id or secret is not valid"),
    "forbidden": (403, "This API client may not do this"),
    "insufficient-scope": (403, "The token lacks the scope this needs"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "This method is not allowed here"),
    "not-acceptable": (406, "This media type cannot be produced"),
    "conflict": (409, "This cannot be done now"),
    "duplicate": (409, "This exists already"),
    "idempotency-in-progress": (409, "A request with this Idempotency-Key is still running"),
    "length-required": (411, "A request body needs a Content-Length"),
    "payload-too-large": (413, "The body is larger than the API accepts"),
    "unsupported-media-type": (415, "This media type is not accepted here"),
    "validation-error": (422, "Some fields are not valid"),
    "idempotency-key-reused": (422, "This Idempotency-Key was used for another request"),
    "rate-limited": (429, "Too many requests"),
    "server-error": (500, "Something went wrong on our side"),
}


class FieldError(BaseModel):
    field: str = Field(description="Where the error is: a dotted path in the body or query.")
    message: str


class Problem(BaseModel):
    """An error (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A stable URI reference naming the kind of error.")
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = Field(default_factory=list)


class ApiProblem(Exception):
    """Raised by the API's own code; answered as a problem of that type."""

    def __init__(
        self, slug: str, detail: str = "", *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or TYPES[slug][1])
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def body(slug: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    status, title = TYPES[slug]
    return {"type": BASE + slug, "title": title, "status": status, "detail": detail, **extra}


def response(
    slug: str, detail: str = "", *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    status = TYPES[slug][0]
    return JSONResponse(
        body(slug, detail, **extra), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )
