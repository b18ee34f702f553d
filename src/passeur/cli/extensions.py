"""`passeur extensions`: what can be installed, and what each extension asks for."""

from __future__ import annotations

from pathlib import Path

import typer

from passeur import docs
from passeur.cli.common import EXIT_PROBLEM_FOUND, emit_json, fail, table
from passeur.domain.errors import DomainError
from passeur.domain.fields import FieldKind
from passeur.domain.paths import VARIABLES

app = typer.Typer(help="Extensions passeur can install.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """List every extension."""
    from passeur.services import catalog

    table(
        [[e.slug, e.name, e.category, e.summary] for e in catalog.list_extensions()],
        ["slug", "name", "category", "summary"],
    )


@app.command()
def describe(slug: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the installation fields and the client's (integration) fields of one extension."""
    from passeur.services import catalog

    try:
        info = catalog.describe(slug)
    except DomainError as exc:
        fail(str(exc))
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
    templates = [f["name"] for key in ("install_fields", "integration_fields") for f in info[key]
                 if f["kind"] == FieldKind.PATH.value]  # fmt: skip
    if templates:
        fields = ", ".join(dict.fromkeys(templates))
        typer.echo(f"\nPath variables (in {fields}), each replaced for a document:")
        for name, meaning in VARIABLES.items():
            typer.echo(f"  [{name}]{'':<{16 - len(name)}} {meaning}")


@app.command("docs")
def docs_(
    write: bool = typer.Option(False, "--write", help="Write the pages that changed."),
    folder: Path = typer.Option(docs.FOLDER, "--dir", help="Where the pages are."),
) -> None:
    """Check the reference pages generated from the declarations (docs/extensions/);
    with --write, bring them up to date."""
    if write:
        for name in docs.write(folder):
            typer.echo(f"wrote {folder / name}")
        return
    stale = docs.stale(folder)
    for name in stale:
        typer.echo(f"stale: {folder / name}")
    if stale:
        fail("run `passeur extensions docs --write` to write them", EXIT_PROBLEM_FOUND)
    typer.echo(f"the pages in {folder} are up to date")
