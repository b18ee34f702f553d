"""`passeur installations` (a partner's templates) and `passeur integrations` (per client)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from passeur.cli.common import app_context, emit_json, parse_assignments, partner_id, table
from passeur.domain.templates import Verdict

installations_app = typer.Typer(help="Installed extensions (templates).", no_args_is_help=True)
integrations_app = typer.Typer(help="Installations added to clients.", no_args_is_help=True)

PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")
SetOption = typer.Option(
    [], "--set", help="field=value; field=@file reads a file, field=- reads stdin."
)


@installations_app.command("create")
def create(
    extension: str,
    name: str = typer.Option(
        "", "--name", help="A name to tell it apart (default: the extension's)."
    ),
    values: list[str] = SetOption,
    partner: int | None = PartnerOption,
) -> None:
    """Install an extension for the partner (see `passeur extensions describe SLUG`)."""
    from passeur.services import installations

    with app_context() as app:
        inst = installations.install(
            app, partner_id(app, partner), extension, name, parse_assignments(values)
        )
        typer.echo(f"installation {inst.id} {inst.name} ({inst.extension})")


@installations_app.command("update")
def update(
    installation_id: int, values: list[str] = SetOption, partner: int | None = PartnerOption
) -> None:
    """Change an installation's fields (a secret is replaced, never shown)."""
    from passeur.services import installations

    with app_context() as app:
        inst = installations.update(
            app, partner_id(app, partner), installation_id, parse_assignments(values)
        )
        typer.echo(f"installation {inst.id} updated")


@installations_app.command("list")
def list_(partner: int | None = PartnerOption) -> None:
    """List the partner's installations, on or off, with the secrets that are set."""
    from passeur.services import installations

    with app_context() as app:
        rows = [
            [
                i.id,
                i.name,
                i.extension,
                "on" if i.active else "off",
                ", ".join(sorted(i.secret_fields)),
            ]
            for i in installations.list_installations(app, partner_id(app, partner))
        ]
        table(rows, ["id", "name", "extension", "active", "secrets set"])


@installations_app.command("show")
def show(installation_id: int, partner: int | None = PartnerOption) -> None:
    """Show an installation's values (secrets are write-only: only their names are shown)."""
    from passeur.services import installations

    with app_context() as app:
        inst = installations.get(app, partner_id(app, partner), installation_id)
        emit_json(
            {
                "id": inst.id,
                "name": inst.name,
                "extension": inst.extension,
                "active": inst.active,
                "config": inst.config,
                "secrets_set": sorted(inst.secret_fields),
            }
        )


@installations_app.command("check")
def check(
    installation_id: int,
    integration: int | None = typer.Option(
        None, "--integration", help="Check with a client's overrides."
    ),
    trust: str | None = typer.Option(
        None,
        "--trust",
        metavar="SHA256:…",
        help="Pin the server's host key if it still has this fingerprint (the one shown).",
    ),
    send_test: bool = typer.Option(
        False, "--send-test", help="Then send one test delivery (a test POST, a test message)."
    ),
    partner: int | None = PartnerOption,
) -> None:
    """Test the connection (no document is sent); shows the host key's fingerprint and, with
    --trust FINGERPRINT, pins that key if the server still presents it.

    With --send-test, a working connection is used for one test delivery, and what the
    target answered is shown.
    """
    from passeur.services import installations

    with app_context() as app:
        result = asyncio.run(
            installations.check(
                app,
                partner_id(app, partner),
                installation_id,
                integration_id=integration,
                trust=trust,
                send_test=send_test,
            )
        )
        typer.echo(result.message)
        if not result.ok:
            raise typer.Exit(1)


@installations_app.command("connect")
def connect(
    installation_id: int,
    port: int = typer.Option(
        0, "--port", help="Loopback port for the provider's answer (0: any free one)."
    ),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait for the sign-in."),
    partner: int | None = PartnerOption,
) -> None:
    """Sign the installation in to its provider (Dropbox, …): prints the address to open
    in a browser, then waits for the provider to send it back to 127.0.0.1."""
    from passeur.cli import loopback

    with app_context() as app:
        inst = loopback.connect(
            app,
            partner_id(app, partner),
            installation_id,
            lambda url: typer.echo(f"Open this address to sign in:\n{url}"),
            port=port,
            timeout=timeout,
        )
        typer.echo(f"installation {inst.id} is signed in")


@installations_app.command("activate")
def activate(installation_id: int, partner: int | None = PartnerOption) -> None:
    """Switch the installation on again: its held exports go out."""
    from passeur.services import installations

    with app_context() as app:
        installations.set_active(app, partner_id(app, partner), installation_id, True)
        typer.echo(f"installation {installation_id} is on")


@installations_app.command("deactivate")
def deactivate(installation_id: int, partner: int | None = PartnerOption) -> None:
    """Switch the installation off for all its clients."""
    from passeur.services import installations

    with app_context() as app:
        installations.set_active(app, partner_id(app, partner), installation_id, False)
        typer.echo(f"installation {installation_id} is off")


@integrations_app.command("add")
def add(
    client_id: int,
    installation_id: int,
    values: list[str] = SetOption,
    partner: int | None = PartnerOption,
) -> None:
    """Add an installation to a client, with the client's own fields or overrides."""
    from passeur.services import integrations

    with app_context() as app:
        integ = integrations.add(
            app, partner_id(app, partner), client_id, installation_id, parse_assignments(values)
        )
        typer.echo(f"integration {integ.id} (client {integ.client_id}) is {integ.status.value}")


@integrations_app.command("update")
def update_integration(
    integration_id: int, values: list[str] = SetOption, partner: int | None = PartnerOption
) -> None:
    """Change a client's fields or overrides of an integration."""
    from passeur.services import integrations

    with app_context() as app:
        integrations.update(
            app, partner_id(app, partner), integration_id, parse_assignments(values)
        )
        typer.echo(f"integration {integration_id} updated")


@integrations_app.command("list")
def list_integrations(
    client: int | None = typer.Option(None, "--client", help="Only this client's."),
    partner: int | None = PartnerOption,
) -> None:
    """List integrations with their status and why they need attention."""
    from passeur.services import integrations

    with app_context() as app:
        rows = [
            [i.id, i.client_id, i.installation_id, i.status.value, i.config, i.status_reason]
            for i in integrations.list_integrations(app, partner_id(app, partner), client)
        ]
        table(rows, ["id", "client", "installation", "status", "overrides", "reason"])


@integrations_app.command("pause")
def pause(integration_id: int, partner: int | None = PartnerOption) -> None:
    """Hold the integration's exports until it is resumed."""
    from passeur.services import integrations

    with app_context() as app:
        integrations.pause(app, partner_id(app, partner), integration_id)
        typer.echo(f"integration {integration_id} is paused")


@integrations_app.command("resume")
def resume(integration_id: int, partner: int | None = PartnerOption) -> None:
    """Resume a paused integration (or one that needed attention): its exports go out."""
    from passeur.services import integrations

    with app_context() as app:
        integrations.resume(app, partner_id(app, partner), integration_id)
        typer.echo(f"integration {integration_id} is active")


@integrations_app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    installation: int = typer.Option(..., "--installation", help="The installation to add."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Judge every row; save nothing."),
    partner: int | None = PartnerOption,
) -> None:
    """Add an installation to many clients from a CSV file: a client reference column
    (external reference or enterprise number) and a column per client field."""
    from passeur.services import integration_import

    with app_context() as app:
        pid = partner_id(app, partner)
        data = file.read_bytes()
        plan = integration_import.preview(app, pid, installation, data)
        shown = [r for r in plan.rows if r.verdict is not Verdict.ADD]
        table([[r.line, r.reference, r.verdict.value, r.reason] for r in shown],
              ["line", "client", "verdict", "reason"])  # fmt: skip
        counts = ", ".join(f"{n} {verdict.value}" for verdict, n in sorted(plan.counts.items()))
        if dry_run:
            typer.echo(f"dry run: {counts or 'no rows'}; nothing saved")
            return
        done = integration_import.confirm(app, pid, installation, data)
        typer.echo(f"added to {len(done.to_add)} clients ({counts or 'no rows'})")


@integrations_app.command("backfill")
def backfill_command(
    integration_id: int,
    since: str = typer.Option(..., "--since", help="First release day, YYYY-MM-DD."),
    until: str = typer.Option(..., "--until", help="Last release day, included."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count and list; save nothing."),
    resend_delivered: bool = typer.Option(
        False, "--resend-delivered", help="Send again what the integration already received."
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Show progress until done."),
    partner: int | None = PartnerOption,
) -> None:
    """Send an integration the documents released between two days that it has not
    received, through the ledger (a `passeur worker` delivers them). Ctrl-C stops it;
    the same command resumes it."""
    from passeur.cli import backfill as backfill_cli

    backfill_cli.run(
        integration_id, since, until, dry_run=dry_run, resend_delivered=resend_delivered,
        wait=wait, partner=partner,
    )  # fmt: skip
