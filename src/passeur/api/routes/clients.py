"""Clients: the businesses a partner serves."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from passeur.api.pagination import CursorParam, LimitParam, Page, position, position_token
from passeur.api.routes.common import Input, Instant, PathId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.health import ClientHealth, Health
from passeur.domain.partners import Client, ClientStatus
from passeur.services import clients
from passeur.storage.repositories.client_list import ClientFilter

router = APIRouter(tags=["clients"])
READ = requires("clients:read")
WRITE = requires("clients:write")


class HealthOut(BaseModel):
    health: Health
    integrations: int
    integrations_needing_attention: int
    failing: int
    waiting: int


class ClientOut(BaseModel):
    id: int
    name: str
    uen_number: str
    vat_number: str
    external_ref: str
    status: ClientStatus
    created_at: Instant
    health: HealthOut | None = None


class ClientIn(Input):
    name: str = Field(max_length=200)
    uen_number: str = Field(default="", max_length=40)
    vat_number: str = Field(default="", max_length=40)
    external_ref: str = Field(default="", max_length=40)
    status: ClientStatus = ClientStatus.DRAFT
    template: RowId | Literal["default"] | None = Field(
        default="default", description="A configuration template's id, 'default', or null."
    )


class ClientPatch(Input):
    name: str = Field(max_length=200)
    uen_number: str = Field(default="", max_length=40)
    vat_number: str = Field(default="", max_length=40)
    external_ref: str = Field(default="", max_length=40)
    status: ClientStatus | None = None


class StatusIn(Input):
    status: ClientStatus


def out(c: Client, health: ClientHealth | None = None) -> ClientOut:
    shown = None
    if health is not None:
        shown = HealthOut(
            health=health.health,
            integrations=health.integrations,
            integrations_needing_attention=health.integrations_needing_attention,
            failing=health.failing,
            waiting=health.waiting,
        )
    return ClientOut(
        id=c.id,
        name=c.name,
        uen_number=c.uen_number,
        vat_number=c.vat_number,
        external_ref=c.external_ref,
        status=c.status,
        created_at=c.created_at,
        health=shown,
    )


@router.get("/clients", response_model=Page[ClientOut])
def list_clients(
    request: Request,
    c: ApiCaller = Depends(READ),
    q: Annotated[str, Query(max_length=100, description="Name, numbers or reference.")] = "",
    status: Annotated[list[ClientStatus] | None, Query()] = None,
    health: Health | None = None,
    cursor: CursorParam = "",
    limit: LimitParam = 50,
) -> Page[ClientOut]:
    """The partner's clients by name, with their health."""
    f = ClientFilter(search=q, statuses=tuple(status or ()), health=health)
    at = position(cursor)
    found = clients.client_page(
        the_app(request), c.partner_id, f, offset=at, limit=limit, actor=c.actor()
    )
    healths = found.health or {}
    items = [out(x, healths.get(x.id)) for x in found.clients]
    more = at + len(items) < found.total
    return Page(items=items, next_cursor=position_token(at + len(items)) if more else None)


@router.post("/clients", response_model=ClientOut, status_code=201)
def create_client(body: ClientIn, request: Request, c: ApiCaller = Depends(WRITE)) -> ClientOut:
    made = clients.create_client(
        the_app(request),
        c.partner_id,
        body.name,
        uen_number=body.uen_number,
        vat_number=body.vat_number,
        external_ref=body.external_ref,
        status=body.status,
        template=body.template,
        refuse_duplicate=True,
        actor=c.actor(),
    )
    return out(made)


@router.get("/clients/{client_id}", response_model=ClientOut)
def get_client(client_id: PathId, request: Request, c: ApiCaller = Depends(READ)) -> ClientOut:
    return out(clients.get_client(the_app(request), c.partner_id, client_id, actor=c.actor()))


@router.patch("/clients/{client_id}", response_model=ClientOut)
def edit_client(
    client_id: PathId, body: ClientPatch, request: Request, c: ApiCaller = Depends(WRITE)
) -> ClientOut:
    changed = clients.update_client(
        the_app(request),
        c.partner_id,
        client_id,
        body.name,
        uen_number=body.uen_number,
        vat_number=body.vat_number,
        external_ref=body.external_ref,
        status=body.status,
        actor=c.actor(),
    )
    return out(changed)


@router.post("/clients/{client_id}/status", response_model=ClientOut)
def change_status(
    client_id: PathId, body: StatusIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> ClientOut:
    """Move a client along draft → invited → active → archived (archiving is final)."""
    app = the_app(request)
    return out(clients.change_status(app, c.partner_id, client_id, body.status, actor=c.actor()))
