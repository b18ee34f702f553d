"""`passeur partners`, `passeur clients` and `passeur users`."""

from __future__ import annotations

from pathlib import Path

import typer

from passeur.cli.common import app_context, partner_id, table
from passeur.domain.partners import Access, ClientStatus, Role, User
from passeur.domain.templates import Verdict

partners_app = typer.Typer(help="Accounting firms (tenants).", no_args_is_help=True)
clients_app = typer.Typer(help="The businesses a partner serves.", no_args_is_help=True)
users_app = typer.Typer(
    help="A partner's users, their roles, and clients' business users.", no_args_is_help=True
)

PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


@partners_app.command("create")
def create_partner(name: str) -> None:
    """Create a partner (an accounting firm)."""
    from passeur.services import partners

    with app_context() as app:
        partner = partners.create_partner(app, name)
        typer.echo(f"partner {partner.id} {partner.name}")


@partners_app.command("list")
def list_partners() -> None:
    """List the partners (accounting firms)."""
    from passeur.services import partners

    with app_context() as app:
        table([[p.id, p.name] for p in partners.list_partners(app)], ["id", "name"])


@clients_app.command("create")
def create_client(
    name: str,
    uen: str = typer.Option("", "--uen", help="Enterprise (KBO/BCE) number."),
    vat: str = typer.Option("", "--vat", help="VAT number, e.g. BE0123456749."),
    external_ref: str = typer.Option("", "--external-ref", help="Your reference for the client."),
    status: ClientStatus = typer.Option(ClientStatus.DRAFT, "--status", help="Its status."),
    force: bool = typer.Option(
        False, "--force", help="Create it even if a client has the same enterprise number."
    ),
    template: int | None = typer.Option(
        None, "--template", help="Configuration template id (default: the default one)."
    ),
    no_template: bool = typer.Option(False, "--no-template", help="Not even the default."),
    partner: int | None = PartnerOption,
) -> None:
    """Add a client to the partner, with a configuration template's team and integrations."""
    from passeur.services import clients

    with app_context() as app:
        client = clients.create_client(
            app,
            partner_id(app, partner),
            name,
            uen_number=uen,
            vat_number=vat,
            external_ref=external_ref,
            status=status,
            refuse_duplicate=not force,
            template=None if no_template else (template or clients.DEFAULT_TEMPLATE),
        )
        typer.echo(f"client {client.id} {client.name} ({client.status.value})")


@clients_app.command("import")
def import_clients(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    dry_run: bool = typer.Option(False, "--dry-run", help="Judge every row; save nothing."),
    partner: int | None = PartnerOption,
) -> None:
    """Add clients from a CSV or XLSX file (legal name, country, contact e-mail, first and
    last name, locale; enterprise number, VAT, external reference), as drafts."""
    from passeur.services import client_import

    with app_context() as app:
        pid = partner_id(app, partner)
        data = file.read_bytes()
        plan = client_import.preview(app, pid, data)
        shown = [r for r in plan.rows if r.verdict is not Verdict.ADD]
        table([[r.line, r.name, r.verdict.value, r.reason] for r in shown],
              ["line", "name", "verdict", "reason"])  # fmt: skip
        counts = ", ".join(f"{n} {verdict.value}" for verdict, n in sorted(plan.counts.items()))
        if dry_run:
            typer.echo(f"dry run: {counts or 'no rows'}; nothing saved")
            return
        done = client_import.confirm(app, pid, data)
        typer.echo(f"{len(done.to_add)} clients added as drafts ({counts or 'no rows'})")


@clients_app.command("list")
def list_clients(partner: int | None = PartnerOption) -> None:
    """List the partner's clients."""
    from passeur.services import clients

    with app_context() as app:
        rows = [
            [c.id, c.name, c.uen_number, c.vat_number, c.external_ref, c.status.value]
            for c in clients.list_clients(app, partner_id(app, partner))
        ]
        table(rows, ["id", "name", "enterprise", "vat", "external ref", "status"])


@clients_app.command("status")
def change_status(
    client_id: int, status: ClientStatus, partner: int | None = PartnerOption
) -> None:
    """Move a client to invited, active or archived (archiving disconnects its integrations)."""
    from passeur.services import clients

    with app_context() as app:
        client = clients.change_status(app, partner_id(app, partner), client_id, status)
        typer.echo(f"client {client.id} is {client.status.value}")


@users_app.command("add")
def add_user(
    email: str,
    name: str = typer.Option("", "--name", help="Their name, as shown in the web UI."),
    roles: list[Role] = typer.Option(..., "--role", help="Repeat for several roles."),
    client: int | None = typer.Option(
        None, "--client", help="With --role business: the client the user belongs to."
    ),
    partner: int | None = PartnerOption,
) -> None:
    """Add a partner-space user, or (--role business --client ID) a client's business user."""
    from passeur.services import partners

    with app_context() as app:
        user = partners.add_user(
            app, partner_id(app, partner), email, name, set(roles), client_id=client
        )
        typer.echo(f"user {user.id} {user.email} ({_roles(user)})")


@users_app.command("list")
def list_users(partner: int | None = PartnerOption) -> None:
    """The partner's users, business users included, with the clients each is assigned to."""
    from passeur.services import partners

    with app_context() as app:
        pid = partner_id(app, partner)
        assigned = partners.assignments(app, pid)
        rows = [
            [u.id, u.email, u.name, _roles(u), _clients(assigned.get(u.id, {}), u)]
            for u in partners.list_users(app, pid)
        ]
        table(rows, ["id", "e-mail", "name", "roles", "clients"])


@users_app.command("assign")
def assign(
    user_id: int,
    client_id: int,
    access: Access = typer.Option(Access.EDIT, "--access", help="view (read-only) or edit."),
    partner: int | None = PartnerOption,
) -> None:
    """Give a user access to a client."""
    from passeur.services import partners

    with app_context() as app:
        partners.assign(app, partner_id(app, partner), user_id, client_id, access)
        typer.echo(f"user {user_id} can {access.value} client {client_id}")


@users_app.command("unassign")
def unassign(user_id: int, client_id: int, partner: int | None = PartnerOption) -> None:
    """Take a client away from a user."""
    from passeur.services import partners

    with app_context() as app:
        partners.unassign(app, partner_id(app, partner), user_id, client_id)
        typer.echo(f"user {user_id} no longer sees client {client_id}")


@users_app.command("set-password")
def set_password(
    email: str,
    from_stdin: bool = typer.Option(
        False, "--stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Set a user's password for the web UI (asked twice, hidden); their sessions end."""
    import sys

    from passeur.services import sessions

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        # Hidden on a terminal; from a pipe there is nothing to hide (getpass would warn).
        hidden = sys.stdin.isatty()
        password = typer.prompt("Password", hide_input=hidden, confirmation_prompt=True)
    with app_context() as app:
        user_id = sessions.set_password(app, email, password)
        typer.echo(f"user {user_id}: password set; they can sign in at the web UI")


def _clients(assigned: dict[int, Access], user: User) -> str:
    """`1 (view), 3 (edit)`; a business user's own client; `-` when none yet."""
    if user.is_business:
        return f"{user.client_id} (own)"
    return ", ".join(f"{c} ({a.value})" for c, a in assigned.items()) or "-"


def _roles(user: User) -> str:
    if user.is_business:
        return f"business user of client {user.client_id}"
    return ", ".join(sorted(user.roles))
