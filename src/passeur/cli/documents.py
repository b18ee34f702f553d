"""`passeur documents`: upload, approve, send, mark processed, re-send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from passeur.cli.common import app_context, partner_id, table
from passeur.domain.documents import Direction, Document, DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats import inspection
from passeur.services import documents, intake

app = typer.Typer(help="Clients' documents.", no_args_is_help=True)
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


def _line(d: Document) -> str:
    return f"document {d.id} {d.kind.value} {d.number or d.filename}: {d.accounting_status.value}"


@app.command()
def upload(
    client_id: int,
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    kind: DocumentKind | None = typer.Option(None, "--kind", help="Needed for PDFs."),
    direction: Direction | None = typer.Option(None, "--direction", help="For credit notes."),
    partner: int | None = PartnerOption,
) -> None:
    """Upload documents for a client (statements go out on arrival)."""
    with app_context() as app:
        pid = partner_id(app, partner)
        for path in files:
            doc = intake.upload(
                app, pid, client_id, path.name, path.read_bytes(), kind=kind, direction=direction
            )
            typer.echo(_line(doc))


@app.command()
def approve(document_ids: list[int], partner: int | None = PartnerOption) -> None:
    """Approve purchase documents: they go out to the client's integrations."""
    with app_context() as app:
        for document_id in document_ids:
            typer.echo(_line(documents.approve(app, partner_id(app, partner), document_id)))


@app.command()
def send(document_ids: list[int], partner: int | None = PartnerOption) -> None:
    """Mark sales documents as sent: they go out to the client's integrations."""
    with app_context() as app:
        for document_id in document_ids:
            typer.echo(_line(documents.send(app, partner_id(app, partner), document_id)))


@app.command("mark-processed")
def mark_processed(document_ids: list[int], partner: int | None = PartnerOption) -> None:
    with app_context() as app:
        documents.mark_processed(app, partner_id(app, partner), document_ids)
        typer.echo(f"{len(document_ids)} document(s) processed")


@app.command()
def resend(
    document_ids: list[int],
    integration: list[int] = typer.Option(None, "--integration", help="One document only."),
    partner: int | None = PartnerOption,
) -> None:
    """(Re-)send documents to their integrations: a new export version each; several
    documents in one transaction, all or none."""
    with app_context() as app:
        pid = partner_id(app, partner)
        if len(document_ids) > 1:
            if integration:
                raise InvalidInput("--integration goes with one document")
            count = documents.resend_many(app, pid, document_ids)
            typer.echo(f"{count} export(s) queued for {len(document_ids)} documents")
            return
        created = documents.resend(app, pid, document_ids[0], integration or None)
        typer.echo(f"{len(created)} export(s) queued: {', '.join(map(str, created)) or 'none'}")


@app.command("list")
def list_(
    client: int | None = typer.Option(None, "--client"), partner: int | None = PartnerOption
) -> None:
    with app_context() as app:
        rows = [
            [
                d.id,
                d.client_id,
                d.kind.value,
                d.number,
                d.filename,
                d.lifecycle.value,
                d.accounting_status.value,
            ]
            for d in documents.list_documents(app, partner_id(app, partner), client)
        ]
        table(rows, ["id", "client", "kind", "number", "file", "lifecycle", "status"])


@app.command()
def inspect(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line and file."),
    client_vat: str | None = typer.Option(None, "--client-vat", help="To tell purchase from sale."),
    client_number: str | None = typer.Option(
        None, "--client-enterprise-number", help="To tell purchase from sale."
    ),
) -> None:
    """Show what intake would decide for each file, storing nothing.

    Exits 1 when any file would be refused.
    """
    refused = 0
    for path in files:
        result = inspection.inspect(
            path.read_bytes(),
            path.name,
            client_vat=client_vat,
            client_enterprise_number=client_number,
        )
        refused += bool(result["errors"])
        if as_json:
            typer.echo(json.dumps(result, default=str))
        else:
            _describe(result)
    if refused:
        raise typer.Exit(1)


def _describe(result: dict[str, Any]) -> None:
    typer.echo(f"{result['file']}:")
    if result["errors"]:
        for error in result["errors"]:
            typer.secho(f"  refused: {error}", fg=typer.colors.RED)
        return
    kind = result["kind"] or "unknown (say --kind at upload)"
    typer.echo(f"  type {result['type']}, kind {kind}, side {result['direction'] or 'unknown'}")
    for label, key in (("number", "number"), ("issued", "issue_date"), ("due", "due_date")):
        if result[key]:
            typer.echo(f"  {label}: {result[key]}")
    if result["total"]:
        typer.echo(f"  total: {result['total']} {result['currency']}")
    for role in ("supplier", "customer"):
        party = result[role]
        if party:
            ids = ", ".join(v for v in (party["vat"], party["enterprise_number"]) if v)
            typer.echo(f"  {role}: {party['name']} ({ids or 'no identifier'})")
    if result["account"]:
        account = result["account"]
        typer.echo(
            f"  account {account['number']} ({account['holder']}), statement "
            f"{account['statement_number']}: {account['movements']} movements, "
            f"{account['opening_balance']} -> {account['closing_balance']}"
        )
    typer.echo(f"  embedded PDF: {'yes' if result['has_pdf'] else 'no'}")
    variables = ", ".join(f"[{k}]={v}" for k, v in result["variables"].items() if v)
    typer.echo(f"  path variables: {variables or 'none known'}")
    for warning in result["warnings"]:
        typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW)
