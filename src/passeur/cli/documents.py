"""`passeur documents`: upload, approve, send, mark processed, mark reviewed, re-send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from passeur.cli.common import EXIT_PROBLEM_FOUND, app_context, fail, partner_id, table
from passeur.domain.documents import Direction, Document, DocumentKind

app = typer.Typer(help="Clients' documents.", no_args_is_help=True)
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


def _line(d: Document) -> str:
    return f"document {d.id} {d.kind.value} {d.number or d.filename}: {d.accounting_status.value}"


@app.command()
def upload(
    client_id: int,
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    kind: DocumentKind | None = typer.Option(None, "--kind", help="Needed for PDFs."),
    direction: Direction | None = typer.Option(
        None,
        "--direction",
        help="purchase or sales: needed for a credit note that names neither side as the client.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Upload even a file the client already has (flagged duplicate)."
    ),
    partner: int | None = PartnerOption,
) -> None:
    """Upload documents for a client (statements go out on arrival). Files go in batches
    (up to 500 files or 64 MB), each stored whole or not at all: a refused file is named
    and nothing of its batch is kept."""
    from passeur.services import intake

    with app_context() as app:
        pid = partner_id(app, partner)
        for batch in _file_batches(files):
            stored = intake.upload_many(
                app,
                pid,
                client_id,
                [(path.name, path.read_bytes()) for path in batch],
                kind=kind,
                direction=direction,
                refuse_duplicate=not force,
            )
            for doc in stored:
                typer.echo(_line(doc))


UPLOAD_BATCH_BYTES = 64 * 1024 * 1024  # held in memory at once while a batch is read


def _file_batches(files: list[Path]) -> list[list[Path]]:
    """Files in batches of at most intake.BATCH_LIMIT files and UPLOAD_BATCH_BYTES (a
    larger file goes alone)."""
    from passeur.services import intake

    batches: list[list[Path]] = [[]]
    size = 0
    for path in files:
        length = path.stat().st_size
        full = len(batches[-1]) >= intake.BATCH_LIMIT or size + length > UPLOAD_BATCH_BYTES
        if batches[-1] and full:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += length
    return [batch for batch in batches if batch]


@app.command()
def approve(document_ids: list[int], partner: int | None = PartnerOption) -> None:
    """Approve purchase documents: they go out to the client's integrations (all of them or,
    when one cannot be approved, none; past 500, in batches of 500)."""
    from passeur.services import documents

    with app_context() as app:
        pid = partner_id(app, partner)
        for batch in _batches(document_ids):
            for doc in documents.approve_many(app, pid, batch):
                typer.echo(_line(doc))


@app.command()
def send(document_ids: list[int], partner: int | None = PartnerOption) -> None:
    """Mark sales documents as sent: they go out to the client's integrations (all of them
    or, when one cannot be sent, none; past 500, in batches of 500)."""
    from passeur.services import documents

    with app_context() as app:
        pid = partner_id(app, partner)
        for batch in _batches(document_ids):
            for doc in documents.send_many(app, pid, batch):
                typer.echo(_line(doc))


def _batches(document_ids: list[int]) -> list[list[int]]:
    """One transaction per batch, as large as a bulk action may be."""
    from passeur.services import documents

    size = documents.BULK_LIMIT
    return [document_ids[k : k + size] for k in range(0, len(document_ids), size)]


@app.command("mark-processed")
def mark_processed(document_ids: list[int], partner: int | None = PartnerOption) -> None:
    """Mark documents as processed in the accounting (all or none)."""
    from passeur.services import documents

    with app_context() as app:
        documents.mark_processed(app, partner_id(app, partner), document_ids)
        typer.echo(f"{len(document_ids)} document(s) processed")


@app.command("mark-reviewed")
def mark_reviewed(document_id: int, partner: int | None = PartnerOption) -> None:
    """Say a person has looked at a document whose totals do not add up: accounting
    software may book it now (its held exports go out)."""
    from passeur.services import documents

    with app_context() as app:
        document = documents.mark_reviewed(app, partner_id(app, partner), document_id)
        typer.echo(f"{_line(document)}; reviewed: accounting software may book it now")


@app.command()
def resend(
    document_ids: list[int],
    integration: list[int] = typer.Option(
        None, "--integration", help="Only to this integration (repeat for several)."
    ),
    partner: int | None = PartnerOption,
) -> None:
    """(Re-)send documents to their integrations: a new export version each; several
    documents in one transaction, all or none."""
    from passeur.services import documents

    with app_context() as app:
        pid = partner_id(app, partner)
        created = documents.resend_each(app, pid, document_ids, integration or None)
        for document_id, exports in created.items():
            queued = ", ".join(map(str, exports)) or "none"
            typer.echo(f"document {document_id}: {len(exports)} export(s) queued: {queued}")


@app.command("list")
def list_(
    client: int | None = typer.Option(None, "--client", help="Only this client's."),
    partner: int | None = PartnerOption,
) -> None:
    """List documents with their lifecycle and accounting status."""
    from passeur.services import documents

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
    from passeur.formats import inspection

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
        fail(f"{refused} of {len(files)} file(s) would be refused", EXIT_PROBLEM_FOUND)


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
            trading = party.get("trading_name")
            also = f", trading as {trading}" if trading and trading != party["name"] else ""
            typer.echo(f"  {role}: {party['name']}{also} ({ids or 'no identifier'})")
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
