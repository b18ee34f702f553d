"""Applying a configuration template to a client: when it is created, or later to an
existing client, with a preview of what it adds.

A plan says, line by line, what applying would do: assign a user (or leave one already on
the team as they are), add an integration (or leave one the client has, or skip an
installation that is switched off), or refuse one that breaks a rule for this client (a
path using [uen_number] for a client without an enterprise number). A plan with a refused
line is not applied at all: nothing is saved until it is fixed.

An integration whose target must check the client's values (an Exact company, an Octopus
dossier, a Yuki administration: `Connector.vet`) is checked with the target before the
saving transaction (`vet_template`), as adding it by hand is; the preview shows the
target's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.partners import Client, ClientStatus
from passeur.domain.templates import ConfigurationTemplate, PlanLine, Verdict
from passeur.services import audit, integrations, vetting
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories import templates as rows


@dataclass(frozen=True)
class TemplatePlan:
    template: ConfigurationTemplate
    client: Client
    users: list[PlanLine]
    integrations: list[PlanLine]

    @property
    def refused(self) -> list[PlanLine]:
        return [line for line in self.users + self.integrations if line.verdict is Verdict.REFUSED]

    @property
    def adds(self) -> int:
        return sum(1 for line in self.users + self.integrations if line.verdict is Verdict.ADD)


def preview(
    app: App, partner_id: int, template_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> TemplatePlan:
    """What applying the template to this existing client would do; nothing is saved."""
    _require(actor, partner_id)
    with reading(app.engine) as conn:
        template, client = _both(conn, actor, partner_id, template_id, client_id)
        plan = plan_within(app, conn, template, client)
    lines = []
    for line in plan.integrations:
        if line.verdict is Verdict.ADD and line.installation_id is not None:
            try:
                vet_template(app, partner_id, template, only={line.installation_id})
            except InvalidInput as exc:
                line = PlanLine(
                    line.subject, Verdict.REFUSED, str(exc), installation_id=line.installation_id
                )
        lines.append(line)
    return replace(plan, integrations=lines)


def apply(
    app: App, partner_id: int, template_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> TemplatePlan:
    """Apply the template to an existing client, in one transaction: all of it or nothing."""
    _require(actor, partner_id)
    with reading(app.engine) as conn:
        template, client = _both(conn, actor, partner_id, template_id, client_id)
    vetted = vet_template(app, partner_id, template)
    with transaction(app.engine) as conn:
        template, client = _both(conn, actor, partner_id, template_id, client_id)
        return apply_within(app, conn, template, client, vetted, actor=actor)


def vet_template(
    app: App, partner_id: int, template: ConfigurationTemplate, *, only: set[int] | None = None
) -> dict[int, dict[str, Any]]:
    """The template's integration values as the targets that check them resolved them
    (by installation), before any saving transaction; InvalidInput names the template,
    the installation and the target's reason. Switched-off installations are skipped
    (they add nothing)."""
    vetted: dict[int, dict[str, Any]] = {}
    for wanted in template.integrations:
        if only is not None and wanted.installation_id not in only:
            continue
        with reading(app.engine) as conn:
            inst = installation_rows.get_installation_row(conn, partner_id, wanted.installation_id)
        if not inst.active or not vetting.needs_vetting(inst.extension):
            continue
        try:
            vetted[inst.id] = vetting.vet(app, partner_id, inst.id, None, wanted.config)
        except InvalidInput as exc:
            raise InvalidInput(
                f"template {template.name}: {inst.name}: {exc}", field=exc.field or "template"
            ) from None
    return vetted


def plan_within(
    app: App, conn: Connection, template: ConfigurationTemplate, client: Client
) -> TemplatePlan:
    team = {user.id for user, _access in partner_rows.team_of(conn, client.partner_id, client.id)}
    users = []
    for user_id, access in sorted(template.users.items()):
        user = partner_rows.get_user(conn, client.partner_id, user_id)
        verdict = Verdict.ALREADY if user_id in team else Verdict.ADD
        users.append(PlanLine(user.name, verdict, access=access, user_id=user_id))
    taken = {
        r.installation_id
        for r in installation_rows.list_integration_rows(conn, client.partner_id, client.id)
    }
    lines = []
    for wanted in template.integrations:
        inst = installation_rows.get_installation_row(
            conn, client.partner_id, wanted.installation_id
        )
        line = PlanLine(inst.name, Verdict.ADD, installation_id=inst.id)
        if inst.id in taken:
            line = PlanLine(inst.name, Verdict.ALREADY, installation_id=inst.id)
        elif not inst.active:
            reason = "the installation is switched off"
            line = PlanLine(inst.name, Verdict.SKIPPED, reason, installation_id=inst.id)
        else:
            try:
                integrations.checked(app, client, inst, wanted.config)
            except (InvalidInput, Conflict) as exc:
                line = PlanLine(inst.name, Verdict.REFUSED, str(exc), installation_id=inst.id)
        lines.append(line)
    return TemplatePlan(template, client, users, lines)


def apply_within(
    app: App,
    conn: Connection,
    template: ConfigurationTemplate,
    client: Client,
    vetted: dict[int, dict[str, Any]] | None = None,
    *,
    actor: Actor = OPERATOR,
) -> TemplatePlan:
    """Apply the plan in the caller's transaction; InvalidInput (and the caller's
    rollback) when any line is refused. `vetted` is `vet_template`'s answer, got before
    the transaction: an integration whose target checks values and is not in it is
    refused (Conflict), never saved unchecked."""
    if client.status is ClientStatus.ARCHIVED:
        raise Conflict(f"client {client.name} is archived; a template cannot be applied")
    plan = plan_within(app, conn, template, client)
    if plan.refused:
        first = plan.refused[0]
        raise InvalidInput(
            f"template {template.name} cannot be applied to {client.name}: "
            f"{first.subject}: {first.reason}",
            field="template",
        )
    for line in plan.users:
        if line.verdict is Verdict.ADD and line.user_id is not None and line.access:
            partner_rows.assign(conn, line.user_id, client.id, line.access)
            change = Change(
                "assignment.create", line.user_id, {}, {"user": line.subject,
                "access": line.access.value, "template": template.name}, client_id=client.id,
            )  # fmt: skip
            audit.record(conn, client.partner_id, actor, change)
    configs = {i.installation_id: i.config for i in template.integrations}
    for line in plan.integrations:
        if line.verdict is Verdict.ADD and line.installation_id is not None:
            inst = installation_rows.get_installation_row(
                conn, client.partner_id, line.installation_id
            )
            values = configs[inst.id]
            if vetting.needs_vetting(inst.extension):
                if vetted is None or inst.id not in vetted:
                    raise Conflict(
                        f"template {template.name}: {inst.name} was not checked with "
                        f"{inst.name}'s target before saving; apply the template again"
                    )
                values = vetted[inst.id]
            integrations.add_within(app, conn, client, inst, values, actor=actor)
    return plan


def _require(actor: Actor, partner_id: int) -> None:
    # Applying adds integrations and assigns users: both are the administrator's.
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    require(actor, Action.MANAGE_TEAM, partner_id)


def _both(
    conn: Connection, actor: Actor, partner_id: int, template_id: int, client_id: int
) -> tuple[ConfigurationTemplate, Client]:
    template = rows.get_template(conn, partner_id, template_id)
    client = partner_rows.get_client(conn, partner_id, client_id)
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id, client_id)
    return template, client
