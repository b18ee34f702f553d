"""What every command shares: building the app, turning errors into clear exits."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from passeur.bootstrap import App, build
from passeur.connectors.errors import ConnectorError
from passeur.domain.errors import DomainError
from passeur.domain.names import shown
from passeur.services import partners
from passeur.storage.secret_box import SecretBoxError


@contextlib.contextmanager
def app_context(*, worker: bool = False) -> Iterator[App]:
    """Build the app; print DomainError/ConnectorError as one line and exit 2 (nothing changed)."""
    app = _built(worker)
    try:
        yield app
    except DomainError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except ConnectorError as exc:
        typer.secho(
            f"error ({exc.error_class.value}): {exc.message}", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(3) from None
    except SecretBoxError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        app.close()


def _built(worker: bool) -> App:
    """The app, or one clear line per bad setting (exit 2) instead of a traceback."""
    try:
        return build(worker=worker)
    except ValidationError as exc:
        for problem in exc.errors():
            name = "PASSEUR_" + str(problem["loc"][0]).upper() if problem["loc"] else "a setting"
            typer.secho(f"error: {name}: {problem['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except SecretBoxError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def partner_id(app: App, given: int | None) -> int:
    return given if given is not None else partners.the_only_partner(app).id


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`--set name=value`; `name=@file` reads a file, `name=-` reads stdin."""
    values: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise DomainError(f"--set takes name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        if value == "-":
            value = sys.stdin.read().rstrip("\n")
        elif value.startswith("@"):
            value = Path(value[1:]).expanduser().read_text()
        values[name.strip()] = value
    return values


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def table(rows: list[list[Any]], headers: list[str]) -> None:
    # Stored names may predate the check that refuses control characters: never let one
    # break the table or drive the terminal.
    cells = [[shown(str(c)) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
