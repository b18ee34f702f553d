"""Installations: a partner's configured extensions (the template its clients use)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from passeur.api.pagination import Page
from passeur.api.routes.common import Input, Instant, PathId, SecretState, Values, secrets_of
from passeur.api.security import ApiCaller, requires, the_app
from passeur.connectors.base import CheckResult
from passeur.connectors.errors import ConnectorError
from passeur.domain.exports import ErrorClass
from passeur.domain.extensions import Installation
from passeur.services import installations

router = APIRouter(tags=["installations"])
READ = requires("installations:read")
WRITE = requires("installations:write")


class InstallationOut(BaseModel):
    id: int
    extension: str
    name: str
    active: bool
    values: Values = Field(description="Every value but secrets.")
    secrets: dict[str, SecretState] = Field(description="Secrets: whether each is set.")
    created_at: Instant


class InstallationIn(Input):
    extension: str = Field(max_length=60)
    name: str = Field(max_length=200)
    values: Values = Field(default_factory=dict, description="Install fields, secrets too.")


class InstallationPatch(Input):
    name: str | None = Field(default=None, max_length=200)
    values: Values = Field(
        default_factory=dict, description='Values to change; "" removes one (or a secret).'
    )


class CheckIn(Input):
    trust: str | None = Field(default=None, max_length=2000, description="A host key to pin.")


class CheckOut(BaseModel):
    ok: bool
    message: str
    error_class: ErrorClass | None = Field(default=None, description="Why it failed.")
    details: dict[str, Any] = {}


async def run_check(check: Awaitable[CheckResult]) -> CheckOut:
    """A connection test's refusal is its answer (ok: false), not an error of the API."""
    try:
        result = await check
    except ConnectorError as exc:
        return CheckOut(ok=False, message=exc.message, error_class=exc.error_class)
    return CheckOut(ok=result.ok, message=result.message, details=result.details)


def out(i: Installation) -> InstallationOut:
    return InstallationOut(
        id=i.id,
        extension=i.extension,
        name=i.name,
        active=i.active,
        values=dict(i.config),
        secrets=secrets_of(i.extension, "install", i.secret_fields),
        created_at=i.created_at,
    )


@router.get("/installations", response_model=Page[InstallationOut])
def list_installations(request: Request, c: ApiCaller = Depends(READ)) -> Page[InstallationOut]:
    found = installations.list_installations(the_app(request), c.partner_id, actor=c.actor())
    return Page(items=[out(i) for i in found])


@router.post("/installations", response_model=InstallationOut, status_code=201)
def install(
    body: InstallationIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> InstallationOut:
    made = installations.install(
        the_app(request), c.partner_id, body.extension, body.name, body.values, actor=c.actor()
    )
    return out(made)


@router.get("/installations/{installation_id}", response_model=InstallationOut)
def get_installation(
    installation_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> InstallationOut:
    return out(installations.get(the_app(request), c.partner_id, installation_id, actor=c.actor()))


@router.patch("/installations/{installation_id}", response_model=InstallationOut)
def edit_installation(
    installation_id: PathId,
    body: InstallationPatch,
    request: Request,
    c: ApiCaller = Depends(WRITE),
) -> InstallationOut:
    changed = installations.update(
        the_app(request),
        c.partner_id,
        installation_id,
        body.values,
        name=body.name,
        actor=c.actor(),
    )
    return out(changed)


@router.post("/installations/{installation_id}/activate", response_model=InstallationOut)
def activate(
    installation_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> InstallationOut:
    app = the_app(request)
    return out(installations.set_active(app, c.partner_id, installation_id, True, actor=c.actor()))


@router.post("/installations/{installation_id}/deactivate", response_model=InstallationOut)
def deactivate(
    installation_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> InstallationOut:
    app = the_app(request)
    return out(installations.set_active(app, c.partner_id, installation_id, False, actor=c.actor()))


@router.post("/installations/{installation_id}/test", response_model=CheckOut)
async def test_installation(
    installation_id: PathId,
    request: Request,
    body: CheckIn | None = None,
    c: ApiCaller = Depends(WRITE),
) -> CheckOut:
    """Test the connection without sending a document."""
    trust = body.trust if body is not None else None
    app = the_app(request)
    return await run_check(
        installations.check(app, c.partner_id, installation_id, trust=trust, actor=c.actor())
    )
