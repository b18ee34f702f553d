"""`passeur audit`: who changed what, exported as CSV, and the chain's verification."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from passeur.cli.common import EXIT_PROBLEM_FOUND, app_context, emit_json, partner_id, table
from passeur.domain.audit import Event

app = typer.Typer(
    help="The audit trail: every change to configuration and access.", no_args_is_help=True
)
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


@app.command("list")
def list_(
    client: int | None = typer.Option(None, "--client", help="Only this client's events."),
    integration: int | None = typer.Option(
        None, "--integration", help="Only this integration's events."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON, before and after in full."),
    partner: int | None = PartnerOption,
) -> None:
    """The newest events first: when, who, from where, what changed."""
    from passeur.services import audit

    with app_context() as app:
        pid = partner_id(app, partner)
        if client is not None:
            page = audit.of_client(app, pid, client, limit=limit)
        elif integration is not None:
            page = audit.of_integration(app, pid, integration, limit=limit)
        else:
            page = audit.of_partner(app, pid, limit=limit)
        if as_json:
            emit_json([_as_json(e) for e in page.events])
            return
        rows = [
            [e.seq, f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.origin, e.action, e.subject_id or ""]
            for e in page.events
        ]
        table(rows, ["seq", "at (UTC)", "who", "from", "what", "id"])


def _as_json(e: Event) -> dict[str, object]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "origin": e.origin,
        "action": e.action,
        "subject_id": e.subject_id,
        "client_id": e.client_id,
        "integration_id": e.integration_id,
        "before": json.loads(e.before),
        "after": json.loads(e.after),
        "hash": e.hash,
    }


@app.command("export")
def export(
    csv: bool = typer.Option(True, "--csv", help="CSV (the one format for now)."),
    client: int | None = typer.Option(None, "--client", help="Only this client's events."),
    integration: int | None = typer.Option(
        None, "--integration", help="Only this integration's events."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here (else stdout)."),
    partner: int | None = PartnerOption,
) -> None:
    """The whole trail, oldest first, as CSV with each row's hash."""
    from passeur.services import audit

    with app_context() as app:
        lines = audit.csv_lines(
            app, partner_id(app, partner), client_id=client, integration_id=integration
        )
        if output is None:
            for line in lines:
                typer.echo(line, nl=False)
            return
        with output.open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(lines)
        typer.echo(f"wrote {output}", err=True)


@app.command()
def verify() -> None:
    """Check every partner's chain: an edited, deleted or reordered row is named (exit 1)."""
    from passeur.services import audit

    with app_context() as app:
        checked, problems = audit.verify_all(app)
    for problem in problems:
        typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
    if problems:
        raise typer.Exit(EXIT_PROBLEM_FOUND)
    typer.echo(f"audit trail intact: {checked} event(s) checked")
