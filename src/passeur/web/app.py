"""The partner space (and each client's business space): server-rendered pages, htmx.

Routes parse input, call services/ as the signed-in actor, and render. The rules of who
may do what live in domain/access.py; this module only maps refusals to pages.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from passeur.api import app as api_app
from passeur.bootstrap import App
from passeur.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from passeur.monitoring import logs
from passeur.monitoring.exposition import CONTENT_TYPE, WebMetrics
from passeur.monitoring.metrics import REQUEST_SECONDS
from passeur.services.readiness import readiness
from passeur.storage.blobs import BlobUnavailable
from passeur.web.i18n import N_
from passeur.web.limits import BodyLimit
from passeur.web.pages import is_htmx, render
from passeur.web.routes import ROUTERS
from passeur.web.visitors import CsrfRefused, SignInRequired, csrf_guard, read_csrf_field

STATIC = Path(__file__).with_name("static")
_log = logging.getLogger("passeur.web")

# No inline script or style anywhere: a value that slipped through escaping cannot run.
_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "SAMEORIGIN",
}


def settle() -> None:
    """Once a web process has built its app, before it serves: what start-up made (the
    app, its templates and catalogues, the libraries' modules) is moved out of the cyclic
    collector's way, so that a full collection does not walk it again on every burst of
    requests. Measured: the Exports ledger of a firm with 1,000 clients had p95 pauses of
    110-130 ms, each a full collection, against 22-25 ms otherwise (docs/decisions.md)."""
    gc.collect()
    gc.freeze()


def create(app: App) -> FastAPI:
    web = FastAPI(
        title="passeur",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(read_csrf_field), Depends(csrf_guard)],
    )
    web.state.passeur = app
    web.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    # The REST API: its own app (bearer tokens, problem details, no CSRF or cookies).
    web.mount(api_app.PREFIX, api_app.create(app), name="api")
    for router in ROUTERS:
        web.include_router(router)

    @web.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        """The process answers (liveness)."""
        return {"status": "ok"}

    @web.get("/ready", include_in_schema=False)
    def ready() -> Response:
        """The database and the blob store answer, the schema is current (readiness):
        503 otherwise, so that a load balancer sends no request here."""
        found = readiness(app)
        ok = all(state == "ok" for state in found.values())
        body = {"status": "ready" if ok else "not ready", **found}
        return JSONResponse(body, status_code=200 if ok else 503)

    metrics = WebMetrics(app.engine)

    @web.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        # Open like /health (no tenant's data: totals only); restrict it at the proxy.
        return Response(metrics.scrape(), media_type=CONTENT_TYPE)

    @web.middleware("http")
    async def observed(request: Request, call_next):  # type: ignore[no-untyped-def]
        logs.clear()  # this request's context starts empty (the visitor binds its ids)
        started = time.perf_counter()
        response: Response = await call_next(request)
        seconds = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")  # bounded labels
        REQUEST_SECONDS.labels(request.method, route, f"{response.status_code // 100}xx").observe(
            seconds
        )
        seen = getattr(request.state, "visitor", None)
        fields = {
            "method": request.method,
            "route": route,
            "path": request.url.path,  # never the query: a sign-in's code travels there
            "status": response.status_code,
            "ms": round(seconds * 1000, 1),
        }
        if seen is not None:
            fields |= {"partner_id": seen.partner_id, "user_id": seen.user.id}
        _log.info("request", extra=fields)
        return response

    @web.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("cache-control", "no-store")
        return response

    _handle_refusals(web)
    web.add_middleware(BodyLimit, skip=api_app.PREFIX + "/")
    return web


def _handle_refusals(web: FastAPI) -> None:
    @web.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/signin?next={quote(target, safe='')}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    @web.exception_handler(CsrfRefused)
    async def csrf(request: Request, _exc: CsrfRefused) -> Response:
        return _error(request, 403, N_("This form has expired. Reload the page and try again."))

    @web.exception_handler(NotFound)
    async def not_found(request: Request, _exc: NotFound) -> Response:
        return _error(request, 404, N_("This page does not exist, or you may not see it."))

    @web.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        # Reading what one may not see looks like reading what does not exist; an action
        # on something visible says why it is refused.
        if request.method in ("GET", "HEAD"):
            return _error(request, 404, N_("This page does not exist, or you may not see it."))
        return _error(request, 403, N_("You may not do this."), detail=str(exc))

    @web.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        return _error(request, 400, N_("This request could not be used."), detail=str(exc))

    @web.exception_handler(BlobUnavailable)
    async def blobs_unavailable(request: Request, exc: BlobUnavailable) -> Response:
        # Intake stores nothing when the blob store fails: the person can simply retry.
        detail = f"{exc}; nothing was stored, try again in a moment"
        return _error(request, 503, N_("Something went wrong."), detail=detail)

    @web.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        return _error(request, 409, N_("This cannot be done now."), detail=str(exc))

    @web.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> Response:
        # A query or form value of the wrong type or size: the page, not FastAPI's JSON.
        fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        detail = ", ".join(fields)[:200]
        return _error(request, 400, N_("This request could not be used."), detail=detail)

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error(request, 404, N_("This page does not exist, or you may not see it."))
        if exc.status_code == 405:
            return _error(request, 405, N_("This page cannot be used that way."))
        return _error(request, exc.status_code, N_("Something went wrong."), detail=str(exc.detail))


def _error(request: Request, status: int, message: str, *, detail: str = "") -> Response:
    block = "main" if is_htmx(request) else None
    context = {"status": status, "message": message, "detail": detail}
    return render(request, "error.html", context, status=status, block=block)
