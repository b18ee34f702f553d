"""`passeur extensions`: what can be installed, and what each extension asks for."""

from __future__ import annotations

import typer

from passeur.cli.common import emit_json, table
from passeur.services import catalog

app = typer.Typer(help="Extensions passeur can install.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """List every extension."""
    table(
        [[e.slug, e.name, e.category, e.summary] for e in catalog.list_extensions()],
        ["slug", "name", "category", "summary"],
    )


@app.command()
def describe(slug: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the installation fields and the client's (integration) fields of one extension."""
    try:
        info = catalog.describe(slug)
    except Exception as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if as_json:
        emit_json(info)
        return
    typer.echo(f"{info['name']} ({info['slug']}): {info['summary']}")
    typer.echo(f"Sends: {info['sends']}. Families: {', '.join(info['families'])}.")
    for title, key in (
        ("Installation fields", "install_fields"),
        ("Client fields", "integration_fields"),
    ):
        typer.echo(f"\n{title}:")
        for f in info[key]:
            flags = [f["kind"]]
            if f["required"]:
                flags.append("required")
            if f["secret"]:
                flags.append("secret, write-only")
            if "default" in f:
                flags.append(f"default {f['default']!r}")
            typer.echo(f"  {f['name']:<16} {f['label']} ({', '.join(flags)})")
            if f.get("help"):
                typer.echo(f"  {'':<16} {f['help']}")
    for group in info["one_of"]:
        typer.echo(f"\nGive at least one of: {', '.join(group)}.")
