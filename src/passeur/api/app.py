"""The REST API application, mounted by the web app at /api/v1.

A FastAPI app of its own: no session cookies and no CSRF (a bearer token is not sent by
a browser on its own), problem details for every error, its own OpenAPI 3.1 schema at
/api/v1/openapi.json and a docs page whose script is served from here (no CDN).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from passeur.api import problems
from passeur.api.idempotency import IdempotencyKeys
from passeur.api.limits import ApiBodyLimit
from passeur.api.problems import ApiProblem, Problem
from passeur.api.routes import ROUTERS
from passeur.bootstrap import App
from passeur.domain.errors import Conflict, Duplicate, Forbidden, InvalidInput, NotFound
from passeur.services.api_clients import Unauthenticated

PREFIX = "/api/v1"
STATIC = Path(__file__).with_name("static")
log = logging.getLogger(__name__)

_ERRORS = {
    400: "invalid-input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "payload-too-large",
    422: "validation-error",
    429: "rate-limited",
}


def create(app: App) -> FastAPI:
    api = FastAPI(
        title="passeur API",
        version="1",
        summary="Partners' own software: clients, integrations, documents and exports.",
        description=(
            "Every request carries `Authorization: Bearer <token>`. Errors are RFC 9457 problem "
            "details. Lists take `cursor` and `limit` and answer `next_cursor`. Every POST "
            "takes an `Idempotency-Key`. See docs/api.md."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        servers=[{"url": PREFIX}],
        responses={
            code: {"model": Problem, "description": problems.TYPES[slug][1]}
            for code, slug in _ERRORS.items()
        },
    )
    api.state.passeur = app
    for router in ROUTERS:
        api.include_router(router)
    _serve_schema(api)
    _handle_errors(api)
    api.add_middleware(IdempotencyKeys)
    api.add_middleware(ApiBodyLimit)  # outermost: before the key's middleware reads a body
    return api


def _serve_schema(api: FastAPI) -> None:
    api.mount("/docs/static", StaticFiles(directory=str(STATIC)), name="api-static")

    @api.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(schema(api))

    @api.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "docs.html", media_type="text/html")


def schema(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document; error answers are `application/problem+json`."""
    if api.openapi_schema is None:
        doc = get_openapi(
            title=api.title,
            version=api.version,
            openapi_version="3.1.0",
            summary=api.summary,
            description=api.description,
            routes=api.routes,
            servers=api.servers,
        )
        for operation in _operations(doc):
            for code, answer in operation.get("responses", {}).items():
                if code[:1] in ("4", "5") and "content" in answer:
                    answer["content"] = {
                        problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
        doc["components"]["schemas"].pop("HTTPValidationError", None)
        doc["components"]["schemas"].pop("ValidationError", None)
        api.openapi_schema = doc
    return api.openapi_schema


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    methods = ("get", "post", "put", "patch", "delete")
    return [op for item in doc.get("paths", {}).values() for m, op in item.items() if m in methods]


def _handle_errors(api: FastAPI) -> None:
    def answer(slug: str, exc: Exception, **extra: Any) -> Response:
        return problems.response(slug, str(exc), **extra)

    @api.exception_handler(ApiProblem)
    async def api_problem(_request: Request, exc: ApiProblem) -> Response:
        return problems.response(exc.slug, exc.detail, headers=exc.headers, **exc.extra)

    @api.exception_handler(Unauthenticated)
    async def unauthenticated(_request: Request, exc: Unauthenticated) -> Response:
        return problems.response(
            "unauthenticated", str(exc), headers={"www-authenticate": "Bearer"}
        )

    @api.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> Response:
        return answer("not-found", exc)

    @api.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> Response:
        return answer("forbidden", exc)

    @api.exception_handler(InvalidInput)
    async def invalid(_request: Request, exc: InvalidInput) -> Response:
        errors = [{"field": exc.field, "message": str(exc)}] if exc.field else []
        return answer("invalid-input", exc, errors=errors)

    @api.exception_handler(Conflict)
    async def conflict(_request: Request, exc: Conflict) -> Response:
        return answer("duplicate" if isinstance(exc, Duplicate) else "conflict", exc)

    @api.exception_handler(RequestValidationError)
    async def malformed(_request: Request, exc: RequestValidationError) -> Response:
        found = exc.errors()
        if any(e.get("type") == "json_invalid" for e in found):
            return problems.response("malformed-body", "the body is not valid JSON")
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "message": str(e.get("msg", ""))[:300],
            }
            for e in found[:20]
        ]
        return problems.response(
            "validation-error", f"{len(found)} field(s) are not valid", errors=errors
        )

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            allowed = _allowed(api, request)
            return problems.response(
                "method-not-allowed",
                f"use {', '.join(allowed)}",
                headers={"allow": ", ".join(allowed)},
            )
        slug = {
            404: "not-found",
            406: "not-acceptable",
            413: "payload-too-large",
            415: "unsupported-media-type",
        }.get(exc.status_code, "invalid-input")
        detail = str(exc.detail) if exc.status_code != 404 else f"nothing at {request.url.path}"
        return problems.response(slug, detail)

    @api.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> Response:
        log.exception("API request failed")
        return problems.response("server-error", "the error was logged")


def _allowed(api: FastAPI, request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in api.router.routes):
            allowed.append(method)
    return allowed
