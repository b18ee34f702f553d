"""The audit trail in the partner space: Settings → Audit trail (the firm's), a client's
Audit tab and an integration's audit page, each with its CSV download. Administrators."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from passeur.domain.access import Action, require
from passeur.domain.audit import Event
from passeur.services import audit, clients, installations, integrations
from passeur.web.pages import render
from passeur.web.routes.clients import client_context, partner_visitor
from passeur.web.visitors import Visitor, the_app

router = APIRouter()


@router.get("/settings/audit", response_class=HTMLResponse)
def partner_trail(
    request: Request, before: int | None = None, v: Visitor = Depends(partner_visitor)
) -> Response:
    page = audit.of_partner(the_app(request), v.partner_id, before_seq=before, actor=v.actor)
    context = {"page": _shown(page), "csv": "/settings/audit.csv", "here": "/settings/audit"}
    return render(request, "audit/partner.html", context, section="audit")


@router.get("/settings/audit.csv")
def partner_csv(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    lines = audit.csv_lines(the_app(request), v.partner_id, actor=v.actor)
    return _csv(lines, "audit-trail.csv")


@router.get("/clients/{client_id:id}/audit", response_class=HTMLResponse)
def client_trail(
    client_id: int,
    request: Request,
    before: int | None = None,
    v: Visitor = Depends(partner_visitor),
) -> Response:
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    page = audit.of_client(app, v.partner_id, client_id, before_seq=before, actor=v.actor)
    here = f"/clients/{client_id}/audit"
    context = {
        **client_context(v, client, "audit"),
        "page": _shown(page),
        "csv": f"{here}.csv",
        "here": here,
    }
    return render(request, "audit/client.html", context, section="clients")


@router.get("/clients/{client_id:id}/audit.csv")
def client_csv(client_id: int, request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    lines = audit.csv_lines(the_app(request), v.partner_id, client_id=client_id, actor=v.actor)
    return _csv(lines, f"audit-trail-client-{client_id}.csv")


@router.get("/integrations/{integration_id:id}/audit", response_class=HTMLResponse)
def integration_trail(
    integration_id: int,
    request: Request,
    before: int | None = None,
    v: Visitor = Depends(partner_visitor),
) -> Response:
    app = the_app(request)
    require(v.actor, Action.SEE_AUDIT, v.partner_id)  # before any id is looked up
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    client = clients.get_client(app, v.partner_id, integ.client_id, actor=v.actor)
    inst = installations.get(app, v.partner_id, integ.installation_id, actor=v.actor)
    page = audit.of_integration(app, v.partner_id, integration_id, before_seq=before, actor=v.actor)
    here = f"/integrations/{integration_id}/audit"
    context = {
        **client_context(v, client, "integrations"),
        "inst": inst,
        "page": _shown(page),
        "csv": f"{here}.csv",
        "here": here,
    }
    return render(request, "audit/integration.html", context, section="clients")


@router.get("/integrations/{integration_id:id}/audit.csv")
def integration_csv(
    integration_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    app = the_app(request)
    lines = audit.csv_lines(app, v.partner_id, integration_id=integration_id, actor=v.actor)
    return _csv(lines, f"audit-trail-integration-{integration_id}.csv")


def _csv(lines: Any, filename: str) -> Response:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _shown(page: audit.Page) -> dict[str, Any]:
    """Events with their before and after as name: (before, after) pairs that changed."""
    return {"events": [(e, _changes(e)) for e in page.events], "older": page.older}


def _changes(e: Event) -> list[tuple[str, str, str]]:
    before, after = _flat(json.loads(e.before)), _flat(json.loads(e.after))
    names = sorted(set(before) | set(after))
    # A value that was absent, empty or null before and is still so is no change (a new
    # user's empty password is not "removed").
    return [
        (n, before.get(n, ""), after.get(n, ""))
        for n in names
        if before.get(n, "") != after.get(n, "")
    ]


def _flat(value: Any, prefix: str = "") -> dict[str, str]:
    """{"values": {"host": "x"}} as {"values.host": "x"}: one line per value changed."""
    if isinstance(value, dict) and (value or not prefix):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if value is None:
        return {prefix: ""}
    return {prefix: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}
