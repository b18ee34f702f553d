"""`passeur exports`: where each document went, and retrying by hand."""

from __future__ import annotations

import typer

from passeur.cli.common import app_context, emit_json, partner_id, table
from passeur.domain.exports import ExportState
from passeur.services import exports
from passeur.storage.repositories.exports import ExportFilter

app = typer.Typer(help="Exports of documents to integrations.", no_args_is_help=True)
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


@app.command("list")
def list_(
    client: int | None = typer.Option(None, "--client"),
    state: list[ExportState] = typer.Option(None, "--state"),
    as_json: bool = typer.Option(False, "--json"),
    partner: int | None = PartnerOption,
) -> None:
    """List exports with their state, tries and where they landed."""
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
def retry(export_id: int, partner: int | None = PartnerOption) -> None:
    """Queue an export again now, with a fresh retry schedule."""
    with app_context() as app:
        export = exports.retry(app, partner_id(app, partner), export_id)
        typer.echo(f"export {export.id} is {export.state.value}")
