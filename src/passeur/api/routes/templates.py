"""Configuration templates: the users and integrations a new client gets."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from passeur.api.pagination import Page
from passeur.api.routes.common import Input, PathId, RowId, Values
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.partners import Access
from passeur.domain.templates import ConfigurationTemplate, PlanLine, Verdict
from passeur.services import template_plans, templates

router = APIRouter(tags=["templates"])
READ = requires("templates:read")
WRITE = requires("templates:write")
# Applying a template to an existing client changes that client (its team, integrations).
CLIENT_READ = requires("clients:read")
CLIENT_WRITE = requires("clients:write")


class TemplateUser(BaseModel):
    user_id: RowId
    access: Access


class TemplateIntegrationOut(BaseModel):
    installation_id: RowId
    values: Values


class TemplateOut(BaseModel):
    id: int
    name: str
    description: str
    is_default: bool
    users: list[TemplateUser]
    integrations: list[TemplateIntegrationOut]


class TemplateIn(Input):
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    users: list[TemplateUser] = Field(default_factory=list, max_length=500)


class TemplateIntegrationIn(Input):
    values: Values = Field(
        default_factory=dict, description="The client's fields; [variables] allowed."
    )


def out(t: ConfigurationTemplate) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        name=t.name,
        description=t.description,
        is_default=t.is_default,
        users=[TemplateUser(user_id=u, access=a) for u, a in sorted(t.users.items())],
        integrations=[
            TemplateIntegrationOut(installation_id=i.installation_id, values=dict(i.config))
            for i in t.integrations
        ],
    )


def _users(body: TemplateIn) -> dict[int, Access]:
    return {u.user_id: u.access for u in body.users}


@router.get("/templates", response_model=Page[TemplateOut])
def list_templates(request: Request, c: ApiCaller = Depends(READ)) -> Page[TemplateOut]:
    found = templates.list_templates(the_app(request), c.partner_id, actor=c.actor())
    return Page(items=[out(t) for t in found])


@router.post("/templates", response_model=TemplateOut, status_code=201)
def create(body: TemplateIn, request: Request, c: ApiCaller = Depends(WRITE)) -> TemplateOut:
    made = templates.create(
        the_app(request),
        c.partner_id,
        body.name,
        body.description,
        users=_users(body),
        actor=c.actor(),
    )
    return out(made)


@router.get("/templates/{template_id}", response_model=TemplateOut)
def get_template(
    template_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> TemplateOut:
    return out(templates.get(the_app(request), c.partner_id, template_id, actor=c.actor()))


@router.put("/templates/{template_id}", response_model=TemplateOut)
def update(
    template_id: PathId, body: TemplateIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> TemplateOut:
    """Replace the name, description and users."""
    changed = templates.update(
        the_app(request),
        c.partner_id,
        template_id,
        body.name,
        body.description,
        users=_users(body),
        actor=c.actor(),
    )
    return out(changed)


@router.delete("/templates/{template_id}", status_code=204, response_class=Response)
def delete(template_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> Response:
    """Clients made with it keep what it gave them."""
    templates.delete(the_app(request), c.partner_id, template_id, actor=c.actor())
    return Response(status_code=204)


@router.post("/templates/{template_id}/default", response_model=TemplateOut)
def mark_default(
    template_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> TemplateOut:
    """The template a new client gets when none is chosen."""
    app = the_app(request)
    templates.mark_default(app, c.partner_id, template_id, actor=c.actor())
    return out(templates.get(app, c.partner_id, template_id, actor=c.actor()))


@router.put("/templates/{template_id}/integrations/{installation_id}", response_model=TemplateOut)
def set_integration(
    template_id: PathId,
    installation_id: PathId,
    body: TemplateIntegrationIn,
    request: Request,
    c: ApiCaller = Depends(WRITE),
) -> TemplateOut:
    changed = templates.set_integration(
        the_app(request), c.partner_id, template_id, installation_id, body.values, actor=c.actor()
    )
    return out(changed)


@router.delete(
    "/templates/{template_id}/integrations/{installation_id}", response_model=TemplateOut
)
def remove_integration(
    template_id: PathId, installation_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> TemplateOut:
    changed = templates.remove_integration(
        the_app(request), c.partner_id, template_id, installation_id, actor=c.actor()
    )
    return out(changed)


class PlanLineOut(BaseModel):
    subject: str = Field(description="The user's or the installation's name.")
    verdict: Verdict
    reason: str = Field(description="Why a line is refused or skipped.")
    access: Access | None = Field(default=None, description="Users: the access they get.")
    installation_id: int | None = None
    user_id: int | None = None


class TemplatePlanOut(BaseModel):
    template_id: int
    client_id: int
    applied: bool = Field(description="true once applied; a preview saves nothing.")
    adds: int = Field(description="Lines that add something.")
    refused: int = Field(description="Lines that break a rule: then nothing is applied.")
    users: list[PlanLineOut]
    integrations: list[PlanLineOut]


def _line(line: PlanLine) -> PlanLineOut:
    return PlanLineOut(
        subject=line.subject,
        verdict=line.verdict,
        reason=line.reason,
        access=line.access,
        installation_id=line.installation_id,
        user_id=line.user_id,
    )


def _plan(plan: template_plans.TemplatePlan, applied: bool) -> TemplatePlanOut:
    return TemplatePlanOut(
        template_id=plan.template.id,
        client_id=plan.client.id,
        applied=applied,
        adds=plan.adds,
        refused=len(plan.refused),
        users=[_line(u) for u in plan.users],
        integrations=[_line(i) for i in plan.integrations],
    )


@router.get("/clients/{client_id}/templates/{template_id}/plan", response_model=TemplatePlanOut)
def preview_plan(
    client_id: PathId, template_id: PathId, request: Request, c: ApiCaller = Depends(CLIENT_READ)
) -> TemplatePlanOut:
    """What applying the template to this existing client would do, line by line (the
    targets that check values are asked); nothing is saved."""
    plan = template_plans.preview(
        the_app(request), c.partner_id, template_id, client_id, actor=c.actor()
    )
    return _plan(plan, applied=False)


@router.post("/clients/{client_id}/templates/{template_id}/apply", response_model=TemplatePlanOut)
def apply_plan(
    client_id: PathId, template_id: PathId, request: Request, c: ApiCaller = Depends(CLIENT_WRITE)
) -> TemplatePlanOut:
    """Apply the template to the client in one transaction: all of it, or (a refused
    line, an archived client) nothing, with a problem naming why."""
    plan = template_plans.apply(
        the_app(request), c.partner_id, template_id, client_id, actor=c.actor()
    )
    return _plan(plan, applied=True)
