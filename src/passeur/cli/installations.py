"""`passeur installations` (a partner's templates) and `passeur integrations` (per client)."""

from __future__ import annotations

import asyncio

import typer

from passeur.cli import loopback
from passeur.cli.common import app_context, emit_json, parse_assignments, partner_id, table
from passeur.services import installations, integrations

installations_app = typer.Typer(help="Installed extensions (templates).", no_args_is_help=True)
integrations_app = typer.Typer(help="Installations added to clients.", no_args_is_help=True)

PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")
SetOption = typer.Option(
    [], "--set", help="field=value; field=@file reads a file, field=- reads stdin."
)


@installations_app.command("create")
def create(
    extension: str,
    name: str = typer.Option("", "--name"),
    values: list[str] = SetOption,
    partner: int | None = PartnerOption,
) -> None:
    """Install an extension for the partner (see `passeur extensions describe SLUG`)."""
    with app_context() as app:
        inst = installations.install(
            app, partner_id(app, partner), extension, name, parse_assignments(values)
        )
        typer.echo(f"installation {inst.id} {inst.name} ({inst.extension})")


@installations_app.command("update")
def update(
    installation_id: int, values: list[str] = SetOption, partner: int | None = PartnerOption
) -> None:
    with app_context() as app:
        inst = installations.update(
            app, partner_id(app, partner), installation_id, parse_assignments(values)
        )
        typer.echo(f"installation {inst.id} updated")


@installations_app.command("list")
def list_(partner: int | None = PartnerOption) -> None:
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
    with app_context() as app:
        installations.set_active(app, partner_id(app, partner), installation_id, True)
        typer.echo(f"installation {installation_id} is on")


@installations_app.command("deactivate")
def deactivate(installation_id: int, partner: int | None = PartnerOption) -> None:
    """Switch the installation off for all its clients."""
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
    with app_context() as app:
        integ = integrations.add(
            app, partner_id(app, partner), client_id, installation_id, parse_assignments(values)
        )
        typer.echo(f"integration {integ.id} (client {integ.client_id}) is {integ.status.value}")


@integrations_app.command("update")
def update_integration(
    integration_id: int, values: list[str] = SetOption, partner: int | None = PartnerOption
) -> None:
    with app_context() as app:
        integrations.update(
            app, partner_id(app, partner), integration_id, parse_assignments(values)
        )
        typer.echo(f"integration {integration_id} updated")


@integrations_app.command("list")
def list_integrations(
    client: int | None = typer.Option(None, "--client"), partner: int | None = PartnerOption
) -> None:
    with app_context() as app:
        rows = [
            [i.id, i.client_id, i.installation_id, i.status.value, i.config, i.status_reason]
            for i in integrations.list_integrations(app, partner_id(app, partner), client)
        ]
        table(rows, ["id", "client", "installation", "status", "overrides", "reason"])


@integrations_app.command("pause")
def pause(integration_id: int, partner: int | None = PartnerOption) -> None:
    with app_context() as app:
        integrations.pause(app, partner_id(app, partner), integration_id)
        typer.echo(f"integration {integration_id} is paused")


@integrations_app.command("resume")
def resume(integration_id: int, partner: int | None = PartnerOption) -> None:
    with app_context() as app:
        integrations.resume(app, partner_id(app, partner), integration_id)
        typer.echo(f"integration {integration_id} is active")
