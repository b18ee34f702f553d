"""Imports from a file, each a preview then a confirm, as in the UI: clients from a CSV or
Excel file, and an installation added to many clients from a CSV file (bulk activation).

A preview saves nothing and answers a verdict per row; the confirm judges the same file
again (someone may have changed a client meanwhile) and adds every row that would add,
in one transaction. Nothing is kept between the two: send the file again to confirm.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, Field

from passeur.api.routes.common import PathId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.templates import Verdict
from passeur.formats.csv_table import MAX_BYTES
from passeur.services import client_import, integration_import

router = APIRouter(tags=["imports"])
CLIENTS = requires("clients:write")
INTEGRATIONS = requires("integrations:write")

TableFile = Annotated[
    UploadFile,
    File(description=f"The table: CSV (any delimiter) or Excel, at most {MAX_BYTES} bytes."),
]


class ImportRowOut(BaseModel):
    line: int = Field(description="The row's line in the file (the header is line 1).")
    subject: str = Field(description="The client's name (clients) or reference (integrations).")
    verdict: Verdict
    reason: str = Field(description="Why a row is refused, or left alone.")
    field: str = Field(description="The column at fault, for a refused row.")
    client_id: int | None = Field(
        default=None, description="The client the row names (integrations)."
    )


class ImportPlanOut(BaseModel):
    saved: bool = Field(description="true for a confirm: the rows that would add were added.")
    added: int = Field(description="Rows that add (or, confirmed, were added).")
    counts: dict[Verdict, int] = Field(description="Rows per verdict.")
    rows: list[ImportRowOut]


def _plan(rows: list[ImportRowOut], saved: bool) -> ImportPlanOut:
    counts = Counter(row.verdict for row in rows)
    return ImportPlanOut(saved=saved, added=counts[Verdict.ADD], counts=dict(counts), rows=rows)


def _read(file: UploadFile) -> bytes:
    return file.file.read(MAX_BYTES + 1)  # one byte more: the service says it is too large


def _clients(plan: client_import.ClientPlan, saved: bool) -> ImportPlanOut:
    rows = [
        ImportRowOut(line=r.line, subject=r.name, verdict=r.verdict, reason=r.reason, field=r.field)
        for r in plan.rows
    ]
    return _plan(rows, saved)


def _integrations(plan: integration_import.ImportPlan, saved: bool) -> ImportPlanOut:
    rows = [
        ImportRowOut(
            line=r.line,
            subject=r.reference,
            verdict=r.verdict,
            reason=r.reason,
            field=r.field,
            client_id=r.client.id if r.client else None,
        )
        for r in plan.rows
    ]
    return _plan(rows, saved)


@router.post("/clients/import-preview", response_model=ImportPlanOut)
def preview_clients(
    request: Request, file: TableFile, c: ApiCaller = Depends(CLIENTS)
) -> ImportPlanOut:
    """What importing the file would do, row by row; nothing is saved."""
    data = _read(file)
    plan = client_import.preview(the_app(request), c.partner_id, data, actor=c.actor())
    return _clients(plan, saved=False)


@router.post("/clients/import", response_model=ImportPlanOut)
def import_clients(
    request: Request, file: TableFile, c: ApiCaller = Depends(CLIENTS)
) -> ImportPlanOut:
    """Add every row that would add as a draft client, in one transaction (rows already
    clients, refused or named twice change nothing)."""
    data = _read(file)
    plan = client_import.confirm(the_app(request), c.partner_id, data, actor=c.actor())
    return _clients(plan, saved=True)


@router.post("/installations/{installation_id}/import-preview", response_model=ImportPlanOut)
def preview_integrations(
    installation_id: PathId, request: Request, file: TableFile, c: ApiCaller = Depends(INTEGRATIONS)
) -> ImportPlanOut:
    """What adding the installation to the file's clients would do, row by row (a
    `client` column, then the client's fields); nothing is saved."""
    data = _read(file)
    plan = integration_import.preview(
        the_app(request), c.partner_id, installation_id, data, actor=c.actor()
    )
    return _integrations(plan, saved=False)


@router.post("/installations/{installation_id}/import", response_model=ImportPlanOut)
def import_integrations(
    installation_id: PathId, request: Request, file: TableFile, c: ApiCaller = Depends(INTEGRATIONS)
) -> ImportPlanOut:
    """Add the installation to every client whose row would add, in one transaction."""
    data = _read(file)
    plan = integration_import.confirm(
        the_app(request), c.partner_id, installation_id, data, actor=c.actor()
    )
    return _integrations(plan, saved=True)
