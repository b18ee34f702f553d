"""`passeur exports`: where each document went, and retrying by hand."""

from __future__ import annotations

from datetime import datetime

import typer

from passeur.cli.common import app_context, emit_json, partner_id, table
from passeur.domain.exports import ErrorClass, ExportState

app = typer.Typer(help="Exports of documents to integrations.", no_args_is_help=True)
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


@app.command("list")
def list_(
    client: int | None = typer.Option(None, "--client", help="Only this client's."),
    state: list[ExportState] = typer.Option(None, "--state", help="Only in this state (repeat)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    partner: int | None = PartnerOption,
) -> None:
    """List exports with their state, tries and where they landed."""
    from passeur.services import exports
    from passeur.storage.repositories.exports import ExportFilter

    with app_context() as app:
        found = exports.list_exports(
            app, partner_id(app, partner), ExportFilter(client_id=client, states=tuple(state or ()))
        )
        if as_json:
            emit_json(
                [
                    {
                        "id": r["export"].id,
                        "document_id": r["export"].document_id,
                        "integration_id": r["export"].integration_id,
                        "client": r["client_name"],
                        "state": r["export"].state.value,
                        "attempts": r["export"].attempts,
                        "last_error": r["export"].last_error,
                        "receipt": r["export"].receipt,
                    }
                    for r in found
                ]
            )
            return
        rows = [
            [
                e.id,
                r["client_name"],
                r["filename"],
                r["installation_name"],
                e.state.value,
                e.attempts,
                e.receipt.get("location", "") or e.last_error[:60],
            ]
            for r in found
            for e in [r["export"]]
        ]
        table(rows, ["id", "client", "file", "installation", "state", "tries", "where / why"])


@app.command()
def show(export_id: int, partner: int | None = PartnerOption) -> None:
    """One export and every try it took."""
    from passeur.services import exports

    with app_context() as app:
        export, tries = exports.get(app, partner_id(app, partner), export_id)
        typer.echo(f"export {export.id} ({export.key}): {export.state.value}")
        if export.receipt:
            typer.echo(
                f"  delivered to {export.receipt.get('location')} "
                f"({export.receipt.get('size')} bytes, sha256 {export.receipt.get('sha256')})"
            )
        if export.last_error:
            typer.echo(f"  last error ({export.last_error_class}): {export.last_error}")
        for t in tries:
            typer.echo(
                f"  try {t.number} by {t.worker} at {t.started_at:%Y-%m-%d %H:%M:%S}: "
                f"{t.outcome.value} {t.error_class or ''} {t.message}"
            )


@app.command()
def retry(
    export_id: int | None = typer.Argument(None, help="One export; or filter with the options."),
    client: int | None = typer.Option(None, "--client", help="Only this client's."),
    integration: int | None = typer.Option(None, "--integration", help="Only this integration's."),
    state: list[ExportState] = typer.Option(None, "--state", help="Only in this state (repeat)."),
    error_class: ErrorClass | None = typer.Option(
        None, "--error-class", help="Only those whose last error was of this class."
    ),
    since: datetime | None = typer.Option(None, "--since", help="Created at or after."),
    until: datetime | None = typer.Option(None, "--until", help="Created before."),
    yes: bool = typer.Option(False, "--yes", help="Retry the matching exports (else preview)."),
    partner: int | None = PartnerOption,
) -> None:
    """Queue exports again now, with a fresh retry schedule: one by id, or many by filter
    (shows how many match first; add --yes to retry them)."""
    from passeur.services import exports
    from passeur.storage.repositories.exports import ExportFilter

    with app_context() as app:
        pid = partner_id(app, partner)
        if export_id is not None:
            export = exports.retry(app, pid, export_id)
            typer.echo(f"export {export.id} is {export.state.value}")
            return
        f = ExportFilter(
            client_id=client,
            integration_id=integration,
            states=tuple(state or ()),
            error_class=error_class,
            since=since,
            until=until,
        )
        count = exports.retry_matching(app, pid, f, confirm=yes)
        if yes:
            typer.echo(f"{count} export(s) queued again")
        else:
            typer.echo(f"{count} export(s) match; run again with --yes to retry them")
