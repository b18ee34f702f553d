"""Exports: the practice-wide ledger, one export with its tries, and retrying by hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, may
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.exports import RETRYABLE_BY_HAND, AttemptOutcome, ErrorClass, ExportState
from passeur.services import clients, exports
from passeur.storage.repositories.exports import ExportFilter
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()

# Above this many clients the filter is a search field: a list of a thousand names is a long
# scroll for the accountant and most of the page's cost (measured: bench.page_speed).
CLIENT_CHOICES = 200
MATCHES_SHOWN = 20

# A try's outcome in words (the finished ones share the words of export states).
OUTCOMES = {
    AttemptOutcome.RUNNING.value: N_("In progress"),
    AttemptOutcome.DELIVERED.value: N_("Delivered"),
    AttemptOutcome.ERROR.value: N_("Error"),
    AttemptOutcome.ABANDONED.value: N_("Interrupted"),
}
_E = TypeVar("_E", ExportState, ErrorClass)


@dataclass(frozen=True)
class Filters:
    """The ledger's filters as the form and the links carry them (text, "" for any)."""

    client: str = ""
    integration: str = ""
    state: str = ""
    error: str = ""
    date_from: str = ""
    date_to: str = ""

    def query(self, **extra: str) -> str:
        """The query string of a link that keeps these filters."""
        names = {"date_from": "from", "date_to": "to"}
        values = {names.get(k, k): v for k, v in {**asdict(self), **extra}.items() if v}
        return urlencode(values)

    def parsed(self) -> ExportFilter:
        """The filter for services; a value no form would send is refused (400)."""
        since = _day(self.date_from, "from")
        until = _day(self.date_to, "to")
        return ExportFilter(
            client_id=_number(self.client, "client"),
            integration_id=_number(self.integration, "integration"),
            states=(_choice(ExportState, self.state, "state"),) if self.state else (),
            error_class=_choice(ErrorClass, self.error, "error") if self.error else None,
            since=datetime.combine(since, time()) if since else None,
            until=datetime.combine(until + timedelta(days=1), time()) if until else None,
        )


def _filters_from(source: Callable[..., Any]) -> Callable[..., Filters]:
    """A dependency reading the filters from the query (links) or the form (retry), with the
    same names and limits."""

    def read(
        client: str = source("", max_length=20),
        integration: str = source("", max_length=20),
        state: str = source("", max_length=30),
        error: str = source("", max_length=30),
        date_from: str = source("", alias="from", max_length=10),
        date_to: str = source("", alias="to", max_length=10),
    ) -> Filters:
        return Filters(client, integration, state, error, date_from, date_to)

    return read


filters = _filters_from(Query)
posted_filters = _filters_from(Form)


@router.get("/exports", response_class=HTMLResponse)
def ledger(
    request: Request,
    v: Visitor = Depends(visitor),
    shown: Filters = Depends(filters),
    cursor: str = Query("", max_length=40),
    client_name: str = Query("", max_length=200),
) -> Response:
    app = the_app(request)
    client_id = shown.parsed().client_id
    matches: list[tuple[int, str]] = []
    if client_name.strip() and client_id is None:
        matches = _clients_named(request, v, client_name)
        if len(matches) == 1:
            chosen = shown.query(client=str(matches[0][0]))
            return RedirectResponse(f"/exports?{chosen}", status_code=303)
    choices = clients.client_choices(app, v.partner_id, limit=CLIENT_CHOICES + 1, actor=v.actor)
    searching = len(choices) > CLIENT_CHOICES
    if searching and client_id is not None and not client_name:
        client_name = clients.get_client(app, v.partner_id, client_id, actor=v.actor).name
    size = exports.PAGE_SIZE
    found = exports.page(app, v.partner_id, shown.parsed(), cursor, size=size, actor=v.actor)
    context = {
        "page": found,
        "shown": shown,
        "clients": [] if searching else choices,
        "client_search": client_name if searching else None,
        "client_matches": matches[:MATCHES_SHOWN],
        "more_matches": len(matches) > MATCHES_SHOWN,
        "integrations": (
            exports.integrations_of(app, v.partner_id, client_id, actor=v.actor)
            if client_id is not None
            else []
        ),
        "states": list(ExportState),
        "error_classes": list(ErrorClass),
        "older": f"/exports?{shown.query(cursor=found.older)}" if found.older else "",
        "newer": f"/exports?{shown.query(cursor=found.newer)}" if found.newer else "",
        "may_retry": may(v.actor, Action.RETRY_EXPORTS, v.partner_id),
    }
    return render(request, "exports/ledger.html", context, section="exports")


def _clients_named(request: Request, v: Visitor, name: str) -> list[tuple[int, str]]:
    """The clients a typed name finds: the one whose name it is exactly, else up to
    MATCHES_SHOWN + 1 whose name, numbers or reference contain it."""
    found = clients.client_choices(
        the_app(request), v.partner_id, name, limit=MATCHES_SHOWN + 1, actor=v.actor
    )
    exact = [c for c in found if c[1].casefold() == name.strip().casefold()]
    return exact if len(exact) == 1 else found


@router.get("/exports/retry", response_class=HTMLResponse)
def retry_preview(
    request: Request, v: Visitor = Depends(visitor), shown: Filters = Depends(filters)
) -> Response:
    """How many exports the filters match, before anything runs."""
    try:
        count = exports.retry_matching(
            the_app(request), v.partner_id, shown.parsed(), confirm=False, actor=v.actor
        )
    except Conflict:
        return _retry_page(request, shown, count=0, refused=True, status=400)
    return _retry_page(request, shown, count=count)


@router.post("/exports/retry", response_class=HTMLResponse)
def retry_many(
    request: Request,
    v: Visitor = Depends(visitor),
    shown: Filters = Depends(posted_filters),
    confirm: str = Form(""),
) -> Response:
    if confirm != "yes":
        return RedirectResponse(f"/exports/retry?{shown.query()}", status_code=303)
    try:
        count = exports.retry_matching(
            the_app(request), v.partner_id, shown.parsed(), confirm=True, actor=v.actor
        )
    except Conflict:
        return _retry_page(request, shown, count=0, refused=True, status=400)
    return _retry_page(request, shown, count=count, done=True)


@router.get("/exports/{export_id:id}", response_class=HTMLResponse)
def export_page(
    request: Request, export_id: int, v: Visitor = Depends(visitor), retried: str = ""
) -> Response:
    row, tries = exports.detail(the_app(request), v.partner_id, export_id, actor=v.actor)
    export = row["export"]
    context = {
        "r": row,
        "e": export,
        "tries": tries,
        "retried": retried == "1",
        "outcomes": OUTCOMES,
        "receipt_details": {
            k: val for k, val in export.receipt.items() if k not in ("location", "size", "sha256")
        },
        "may_retry": export.state in RETRYABLE_BY_HAND
        and may(v.actor, Action.RETRY_EXPORTS, v.partner_id, row["client_id"]),
    }
    return render(request, "exports/export.html", context, section="exports")


@router.post("/exports/{export_id:id}/retry")
def retry_one(request: Request, export_id: int, v: Visitor = Depends(visitor)) -> Response:
    exports.retry(the_app(request), v.partner_id, export_id, actor=v.actor)
    return RedirectResponse(f"/exports/{export_id}?retried=1", status_code=303)


def _retry_page(
    request: Request,
    shown: Filters,
    *,
    count: int,
    refused: bool = False,
    done: bool = False,
    status: int = 200,
) -> Response:
    context = {"shown": shown, "count": count, "refused": refused, "done": done}
    return render(request, "exports/retry.html", context, status=status, section="exports")


def _number(raw: str, name: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{name} must be a number", field=name)
    return int(raw)


def _choice(kind: type[_E], raw: str, name: str) -> _E:
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput(f"{name} {raw!r} is not known", field=name) from None


def _day(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name) from None
