"""Exports: the ledger (the UI's filters, newest first), one export with its tries, and
retrying one or every export a filter matches (with a preview count first)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from passeur.api.pagination import CursorParam, LimitParam, Page
from passeur.api.routes.common import Count, Input, Instant, PathId, QueryId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.exports import Attempt, AttemptOutcome, ErrorClass, Export, ExportState
from passeur.services import exports
from passeur.storage.repositories.exports import ExportFilter

router = APIRouter(tags=["exports"])
READ = requires("exports:read")
WRITE = requires("exports:write")


class ExportOut(BaseModel):
    id: int
    key: str = Field(description="Stable per (document, integration, version).")
    document_id: PathId
    integration_id: RowId
    version: int
    state: ExportState
    attempts: int
    next_attempt_at: Instant | None
    created_at: Instant
    updated_at: Instant
    delivered_at: Instant | None
    last_error_class: ErrorClass | None
    last_error: str
    receipt: dict[str, Any]
    client_id: RowId | None = None
    client_name: str = ""
    filename: str = ""
    installation_name: str = ""
    extension: str = ""


class AttemptOut(BaseModel):
    number: int
    started_at: Instant
    finished_at: Instant | None
    outcome: AttemptOutcome
    error_class: ErrorClass | None
    message: str


class ExportDetail(ExportOut):
    tries: list[AttemptOut]


class ExportFilterIn(Input):
    """The ledger's filters (all optional); the same as the UI's."""

    client_id: RowId | None = None
    integration_id: RowId | None = None
    state: ExportState | None = None
    error_class: ErrorClass | None = None
    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")

    def parsed(self) -> ExportFilter:
        return _filter(
            self.client_id,
            self.integration_id,
            self.state,
            self.error_class,
            self.date_from,
            self.date_to,
        )


class RetryIn(ExportFilterIn):
    confirm: bool = Field(default=False, description="False: only count (a preview).")


def _filter(
    client_id: int | None,
    integration_id: int | None,
    state: ExportState | None,
    error_class: ErrorClass | None,
    date_from: date | None,
    date_to: date | None,
) -> ExportFilter:
    return ExportFilter(
        client_id=client_id,
        integration_id=integration_id,
        states=(state,) if state else (),
        error_class=error_class,
        since=datetime.combine(date_from, time()) if date_from else None,
        until=datetime.combine(date_to + timedelta(days=1), time()) if date_to else None,
    )


def out(e: Export, listed: dict[str, Any] | None = None) -> dict[str, Any]:
    names = {k: v for k, v in (listed or {}).items() if k != "export"}
    return {
        "id": e.id,
        "key": e.key,
        "document_id": e.document_id,
        "integration_id": e.integration_id,
        "version": e.version,
        "state": e.state,
        "attempts": e.attempts,
        "next_attempt_at": e.next_attempt_at,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "delivered_at": e.delivered_at,
        "last_error_class": e.last_error_class,
        "last_error": e.last_error,
        "receipt": e.receipt,
        **names,
    }


def attempt(a: Attempt) -> AttemptOut:
    return AttemptOut(
        number=a.number,
        started_at=a.started_at,
        finished_at=a.finished_at,
        outcome=a.outcome,
        error_class=a.error_class,
        message=a.message,
    )


@router.get("/exports", response_model=Page[ExportOut])
def ledger(
    request: Request,
    c: ApiCaller = Depends(READ),
    client_id: QueryId = None,
    integration_id: QueryId = None,
    state: ExportState | None = None,
    error_class: ErrorClass | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    cursor: CursorParam = "",
    limit: LimitParam = 50,
) -> Page[ExportOut]:
    """The export ledger, newest first."""
    f = _filter(client_id, integration_id, state, error_class, date_from, date_to)
    found = exports.page(the_app(request), c.partner_id, f, cursor, size=limit, actor=c.actor())
    items = [ExportOut(**out(r["export"], r)) for r in found.rows]
    return Page(items=items, next_cursor=found.older)


@router.get("/exports/retry-preview", response_model=Count)
def retry_preview(
    request: Request,
    c: ApiCaller = Depends(WRITE),
    client_id: QueryId = None,
    integration_id: QueryId = None,
    state: ExportState | None = None,
    error_class: ErrorClass | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> Count:
    """How many exports POST /exports/retry would retry with these filters (nothing runs)."""
    f = _filter(client_id, integration_id, state, error_class, date_from, date_to)
    app = the_app(request)
    return Count(count=exports.retry_matching(app, c.partner_id, f, confirm=False, actor=c.actor()))


@router.post("/exports/retry", response_model=Count)
def retry_matching(body: RetryIn, request: Request, c: ApiCaller = Depends(WRITE)) -> Count:
    """Retry every failed, waiting or retrying export the filters match. Without
    `confirm`, only count them."""
    app = the_app(request)
    found = exports.retry_matching(
        app, c.partner_id, body.parsed(), confirm=body.confirm, actor=c.actor()
    )
    return Count(count=found)


@router.get("/exports/{export_id}", response_model=ExportDetail)
def detail(export_id: PathId, request: Request, c: ApiCaller = Depends(READ)) -> ExportDetail:
    """One export with every try it took."""
    listed, tries = exports.detail(the_app(request), c.partner_id, export_id, actor=c.actor())
    return ExportDetail(**out(listed["export"], listed), tries=[attempt(a) for a in tries])


@router.post("/exports/{export_id}/retry", response_model=ExportOut)
def retry(export_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> ExportOut:
    """Queue a failed, waiting or retrying export again, now."""
    app = the_app(request)
    exports.retry(app, c.partner_id, export_id, actor=c.actor())
    listed, _ = exports.detail(app, c.partner_id, export_id, actor=c.actor())
    return ExportOut(**out(listed["export"], listed))
