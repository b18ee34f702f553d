"""`passeur templates`: configuration templates, and applying one to a client."""

from __future__ import annotations

import typer

from passeur.cli.common import app_context, parse_assignments, partner_id, table
from passeur.domain.errors import InvalidInput
from passeur.domain.partners import Access

app = typer.Typer(help="Configuration templates: a new client's team and integrations.",
                  no_args_is_help=True)  # fmt: skip
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


def _users(pairs: list[str]) -> dict[int, Access]:
    """`--user ID=edit` or `--user ID=view`."""
    out: dict[int, Access] = {}
    for pair in pairs:
        user, _, access = pair.partition("=")
        if not user.strip().isdigit() or access not in {a.value for a in Access}:
            raise InvalidInput(f"--user takes ID=edit or ID=view, got {pair!r}")
        out[int(user)] = Access(access)
    return out


@app.command("list")
def list_templates(partner: int | None = PartnerOption) -> None:
    """List the configuration templates (the default one is marked)."""
    from passeur.services import templates

    with app_context() as built:
        rows = [
            [
                t.id,
                t.name + (" (default)" if t.is_default else ""),
                len(t.users),
                len(t.integrations),
            ]
            for t in templates.list_templates(built, partner_id(built, partner))
        ]
        table(rows, ["id", "name", "users", "integrations"])


@app.command("create")
def create(
    name: str,
    description: str = typer.Option("", "--description", help="What the template is for."),
    user: list[str] = typer.Option([], "--user", help="ID=edit or ID=view; repeatable."),
    default: bool = typer.Option(False, "--default", help="New clients get it by default."),
    partner: int | None = PartnerOption,
) -> None:
    """Create a template (add its integrations with `templates set-integration`)."""
    from passeur.services import templates

    with app_context() as built:
        pid = partner_id(built, partner)
        made = templates.create(built, pid, name, description, users=_users(user))
        if default:
            templates.mark_default(built, pid, made.id)
        typer.echo(f"template {made.id} {made.name}")


@app.command("set-integration")
def set_integration(
    template_id: int,
    installation_id: int = typer.Option(..., "--installation", help="Installation id."),
    values: list[str] = typer.Option([], "--set", help="name=value; paths may use [variables]."),
    partner: int | None = PartnerOption,
) -> None:
    """Add an installation to the template, with the client's values."""
    from passeur.services import templates

    with app_context() as built:
        pid = partner_id(built, partner)
        templates.set_integration(built, pid, template_id, installation_id,
                                  parse_assignments(values))  # fmt: skip
        typer.echo(f"template {template_id} adds installation {installation_id}")


@app.command("remove-integration")
def remove_integration(
    template_id: int,
    installation_id: int = typer.Option(..., "--installation", help="Installation id."),
    partner: int | None = PartnerOption,
) -> None:
    """Stop adding an installation with the template."""
    from passeur.services import templates

    with app_context() as built:
        templates.remove_integration(built, partner_id(built, partner), template_id,
                                     installation_id)  # fmt: skip
        typer.echo(f"template {template_id} no longer adds installation {installation_id}")


@app.command("default")
def default(
    template_id: int | None = typer.Argument(None, help="None: no default template."),
    partner: int | None = PartnerOption,
) -> None:
    """Mark the template as default (without an id: no default)."""
    from passeur.services import templates

    with app_context() as built:
        templates.mark_default(built, partner_id(built, partner), template_id)
        typer.echo(f"default template: {template_id if template_id is not None else 'none'}")


@app.command("delete")
def delete(template_id: int, partner: int | None = PartnerOption) -> None:
    """Delete a template (clients made with it keep what it gave them)."""
    from passeur.services import templates

    with app_context() as built:
        templates.delete(built, partner_id(built, partner), template_id)
        typer.echo(f"template {template_id} deleted")


@app.command("apply")
def apply(
    template_id: int,
    client_id: int = typer.Option(..., "--client", help="Client id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what it adds; save nothing."),
    partner: int | None = PartnerOption,
) -> None:
    """Apply a template to an existing client: all of it, or nothing if a line is refused."""
    from passeur.services import template_plans

    with app_context() as built:
        pid = partner_id(built, partner)
        plan = template_plans.preview(built, pid, template_id, client_id)
        rows = [[line.subject, line.verdict.value, line.reason] for line in
                plan.users + plan.integrations]  # fmt: skip
        table(rows, ["what", "verdict", "reason"])
        if dry_run:
            typer.echo(f"dry run: {plan.adds} to add, nothing saved")
            return
        done = template_plans.apply(built, pid, template_id, client_id)
        typer.echo(f"applied: {done.adds} added")
