"""Integrations: an installation added to one client, with that client's fields; and
backfills (sending documents released before the integration existed, dry run first)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from passeur.api.pagination import CursorParam, LimitParam, Page, position, position_token
from passeur.api.routes.common import (
    Input,
    Instant,
    PathId,
    QueryId,
    RowId,
    SecretState,
    Values,
    secrets_of,
)
from passeur.api.routes.installations import CheckIn, CheckOut, run_check
from passeur.api.security import ApiCaller, requires, the_app
from passeur.bootstrap import App
from passeur.domain.backfills import Progress
from passeur.domain.extensions import Integration, IntegrationStatus
from passeur.services import backfill, installations, integrations

router = APIRouter(tags=["integrations"])
READ = requires("integrations:read")
WRITE = requires("integrations:write")


class IntegrationOut(BaseModel):
    id: int
    client_id: RowId
    installation_id: RowId
    extension: str
    status: IntegrationStatus
    status_reason: str
    values: Values = Field(description="The client's own values (overrides), no secrets.")
    secrets: dict[str, SecretState]
    activated_at: Instant
    created_at: Instant


class IntegrationIn(Input):
    client_id: RowId
    installation_id: RowId
    values: Values = Field(default_factory=dict, description="The client's fields.")


class IntegrationPatch(Input):
    values: Values = Field(description='Values to change; "" drops an override or secret.')


class PathPreviewIn(Input):
    client_id: RowId
    installation_id: RowId
    values: Values = Field(default_factory=dict)


class PathPreviewOut(BaseModel):
    path: str = Field(description='"": no path (the extension has none, or see error).')
    error: str
    document_id: int | None
    example: bool = Field(description="Rendered for an example document (the client has none).")


class Removed(BaseModel):
    deleted: bool = Field(description="True: deleted; false: kept, disconnected (it has exports).")


class BackfillIn(Input):
    since: date
    until: date
    resend_delivered: bool = False
    dry_run: bool = Field(default=True, description="Only count; send nothing.")


class BackfillPreviewOut(BaseModel):
    count: int
    first_document_ids: list[int]


class BackfillOut(BaseModel):
    id: int
    integration_id: RowId
    since: str
    until: str
    state: str
    total: int
    queued: int
    delivered: int
    failed: int
    waiting: int


def _extensions(app: App, c: ApiCaller) -> dict[int, str]:
    found = installations.list_installations(app, c.partner_id, actor=c.actor())
    return {i.id: i.extension for i in found}


def out(i: Integration, extension: str) -> IntegrationOut:
    return IntegrationOut(
        id=i.id,
        client_id=i.client_id,
        installation_id=i.installation_id,
        extension=extension,
        status=i.status,
        status_reason=i.status_reason,
        values=dict(i.config),
        secrets=secrets_of(extension, "integration", i.secret_fields),
        activated_at=i.activated_at,
        created_at=i.created_at,
    )


def _one(app: App, c: ApiCaller, i: Integration) -> IntegrationOut:
    inst = installations.get(app, c.partner_id, i.installation_id, actor=c.actor())
    return out(i, inst.extension)


def progress(p: Progress) -> BackfillOut:
    return BackfillOut(
        id=p.id,
        integration_id=p.integration_id,
        since=p.since,
        until=p.until,
        state=p.state,
        total=p.total,
        queued=p.queued,
        delivered=p.delivered,
        failed=p.failed,
        waiting=p.waiting,
    )


@router.get("/integrations", response_model=Page[IntegrationOut])
def list_integrations(
    request: Request,
    c: ApiCaller = Depends(READ),
    client_id: QueryId = None,
    cursor: CursorParam = "",
    limit: LimitParam = 50,
) -> Page[IntegrationOut]:
    app = the_app(request)
    found = integrations.list_integrations(app, c.partner_id, client_id, actor=c.actor())
    at = position(cursor)
    kept = found[at : at + limit]
    names = _extensions(app, c)
    more = at + len(kept) < len(found)
    return Page(
        items=[out(i, names[i.installation_id]) for i in kept],
        next_cursor=position_token(at + len(kept)) if more else None,
    )


@router.post("/integrations", response_model=IntegrationOut, status_code=201)
def add(body: IntegrationIn, request: Request, c: ApiCaller = Depends(WRITE)) -> IntegrationOut:
    """Add an installation to a client. Only documents released from now on go out."""
    app = the_app(request)
    made = integrations.add(
        app, c.partner_id, body.client_id, body.installation_id, body.values, actor=c.actor()
    )
    return _one(app, c, made)


@router.post("/integrations/path-preview", response_model=PathPreviewOut)
def preview_path(
    body: PathPreviewIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> PathPreviewOut:
    """Where the client's latest document would land with these values (nothing is sent)."""
    found = integrations.preview_path(
        the_app(request),
        c.partner_id,
        body.client_id,
        body.installation_id,
        body.values,
        actor=c.actor(),
    )
    doc = found.document.id if found.document is not None and not found.example else None
    return PathPreviewOut(
        path=found.path, error=found.error, document_id=doc, example=found.example
    )


@router.get("/integrations/{integration_id}", response_model=IntegrationOut)
def get_integration(
    integration_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> IntegrationOut:
    app = the_app(request)
    return _one(app, c, integrations.get(app, c.partner_id, integration_id, actor=c.actor()))


@router.patch("/integrations/{integration_id}", response_model=IntegrationOut)
def edit(
    integration_id: PathId, body: IntegrationPatch, request: Request, c: ApiCaller = Depends(WRITE)
) -> IntegrationOut:
    app = the_app(request)
    changed = integrations.update(app, c.partner_id, integration_id, body.values, actor=c.actor())
    return _one(app, c, changed)


@router.post("/integrations/{integration_id}/pause", response_model=IntegrationOut)
def pause(
    integration_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> IntegrationOut:
    app = the_app(request)
    return _one(app, c, integrations.pause(app, c.partner_id, integration_id, actor=c.actor()))


@router.post("/integrations/{integration_id}/resume", response_model=IntegrationOut)
def resume(
    integration_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> IntegrationOut:
    app = the_app(request)
    return _one(app, c, integrations.resume(app, c.partner_id, integration_id, actor=c.actor()))


@router.delete("/integrations/{integration_id}", response_model=Removed)
def remove(integration_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> Removed:
    app = the_app(request)
    return Removed(deleted=integrations.remove(app, c.partner_id, integration_id, actor=c.actor()))


@router.post("/integrations/{integration_id}/test", response_model=CheckOut)
async def test_integration(
    integration_id: PathId,
    request: Request,
    body: CheckIn | None = None,
    c: ApiCaller = Depends(WRITE),
) -> CheckOut:
    """Test the connection with the client's values, without sending a document."""
    app = the_app(request)
    found = integrations.get(app, c.partner_id, integration_id, actor=c.actor())
    return await run_check(
        installations.check(
            app,
            c.partner_id,
            found.installation_id,
            integration_id=integration_id,
            trust=body.trust if body is not None else None,
            actor=c.actor(),
        )
    )


@router.post(
    "/integrations/{integration_id}/backfills",
    response_model=BackfillPreviewOut | BackfillOut,
)
def start_backfill(
    integration_id: PathId, body: BackfillIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> BackfillPreviewOut | BackfillOut:
    """Send documents released between two days. `dry_run` (the default) only counts."""
    app = the_app(request)
    since, until = body.since.isoformat(), body.until.isoformat()
    if body.dry_run:
        found = backfill.preview(
            app,
            c.partner_id,
            integration_id,
            since,
            until,
            resend_delivered=body.resend_delivered,
            actor=c.actor(),
        )
        return BackfillPreviewOut(count=found.count, first_document_ids=[d.id for d in found.first])
    run = backfill.start(
        app,
        c.partner_id,
        integration_id,
        since,
        until,
        resend_delivered=body.resend_delivered,
        actor=c.actor(),
    )
    return progress(backfill.advance(app, c.partner_id, run.id, actor=c.actor()))


@router.get("/backfills/{backfill_id}", response_model=BackfillOut)
def get_backfill(
    backfill_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> BackfillOut:
    return progress(backfill.progress(the_app(request), c.partner_id, backfill_id, actor=c.actor()))


@router.post("/backfills/{backfill_id}/advance", response_model=BackfillOut)
def advance_backfill(
    backfill_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> BackfillOut:
    """Queue the next documents (a backfill keeps a window of them on their way)."""
    return progress(backfill.advance(the_app(request), c.partner_id, backfill_id, actor=c.actor()))


@router.post("/backfills/{backfill_id}/stop", response_model=BackfillOut)
def stop_backfill(
    backfill_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> BackfillOut:
    return progress(backfill.stop(the_app(request), c.partner_id, backfill_id, actor=c.actor()))


@router.post("/backfills/{backfill_id}/resume", response_model=BackfillOut)
def resume_backfill(
    backfill_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> BackfillOut:
    return progress(backfill.resume(the_app(request), c.partner_id, backfill_id, actor=c.actor()))
