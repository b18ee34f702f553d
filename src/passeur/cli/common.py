"""What every command shares: building the app, turning errors into clear exits."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from passeur.domain.errors import DomainError
from passeur.domain.names import shown

if TYPE_CHECKING:
    from passeur.bootstrap import App

# What a command needs (settings, the database, services) is imported when it runs, not
# when `passeur` starts: a verb's --help or another verb never pays for it.

# Exit codes, the same for every command (README, "Exit codes"; `passeur --help`).
EXIT_PROBLEM_FOUND = 1  # a check or an inspection found something wrong
EXIT_REFUSED = 2  # bad input, an unknown id, a conflict, a bad setting: nothing changed
EXIT_TARGET = 3  # the target refused or could not be reached
EXIT_DATABASE = 4  # the database is unreachable, or its schema is not the one needed


_collector_paused = False


def pause_collector() -> None:
    """At the start of `passeur`: no garbage collection while the command imports its
    libraries. They allocate hundreds of thousands of objects that live as long as the
    process, and the collector's passes over them were about a tenth of a command's
    start-up (docs/decisions.md). `resume_collector` turns it back on."""
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True


def resume_collector() -> None:
    """Once the command's libraries are loaded (the app is built): what exists now is
    frozen (left out of every later collection, it lives as long as the process) and
    collection resumes for what the command's work allocates. Only undoes
    `pause_collector` (a program that turned collection off itself keeps it off)."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """One line on stderr, then exit: an expected failure is never a traceback."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def app_context(*, worker: bool = False, schema_check: bool = True) -> Iterator[App]:
    """Build the app on a database at the current schema, then run the command; every
    expected failure is one line and an exit code (nothing changed).

    On the embedded default (SQLite in the data folder) an empty database is created on
    first use; anything else that is not current is refused (`passeur db upgrade`).
    """
    from sqlalchemy.exc import OperationalError

    from passeur.connectors.errors import ConnectorError
    from passeur.domain.errors import Duplicate
    from passeur.storage.blobs import BlobUnavailable
    from passeur.storage.schema import SchemaNotCurrent
    from passeur.storage.secret_box import SecretBoxError

    app = _built(worker)
    try:
        if schema_check:
            require_schema(app)
        resume_collector()
        yield app
    except Duplicate as exc:
        fail(f"{exc}; add --force to do it anyway")
    except DomainError as exc:
        fail(str(exc))
    except ConnectorError as exc:
        fail(f"({exc.error_class.value}) {exc.message}", EXIT_TARGET)
    except SecretBoxError as exc:
        fail(str(exc))
    except BlobUnavailable as exc:
        fail(f"{exc}; nothing was stored", EXIT_TARGET)
    except SchemaNotCurrent as exc:
        fail(str(exc), EXIT_DATABASE)
    except OperationalError as exc:
        fail(f"cannot use the database {_where(app)}: {_first_line(exc.orig)}", EXIT_DATABASE)
    finally:
        app.close()


def require_schema(app: App) -> None:
    """Inside app_context(schema_check=False): for a command that first takes what must be
    reported before any work (serve binds its port)."""
    from passeur.storage import schema

    embedded = not app.settings.database_url
    if schema.require_current(app.engine, create_if_empty=embedded):
        typer.echo(
            f"passeur: created the database {_where(app)} "
            f"(data folder {app.settings.data_dir.resolve()})",
            err=True,
        )


def _where(app: App) -> str:
    from sqlalchemy.engine import make_url

    return make_url(app.settings.effective_database_url).render_as_string(hide_password=True)


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or ["no reason given"])[0]


def where_data_lives() -> str:
    """The data folder and database this command uses (for `-v`), passwords hidden."""
    from sqlalchemy.engine import make_url

    from passeur.settings import Settings

    settings = Settings()
    data = settings.data_dir.resolve()
    keys = "PASSEUR_SECRET_KEYS" if settings.secret_keys.get_secret_value() else data / "secret.key"
    database = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    blobs = settings.blob_url or data / "blobs"
    return f"data folder {data}; database {database}; blobs {blobs}; keys {keys}"


def _built(worker: bool) -> App:
    """The app, or one clear line per bad setting (exit 2) instead of a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError

    from passeur.bootstrap import build
    from passeur.storage.secret_box import SecretBoxError

    try:
        return build(worker=worker)
    except ValidationError as exc:
        for problem in exc.errors():
            name = "PASSEUR_" + str(problem["loc"][0]).upper() if problem["loc"] else "a setting"
            typer.secho(f"error: {name}: {problem['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    except SecretBoxError as exc:
        fail(str(exc))
    except ArgumentError as exc:
        fail(f"PASSEUR_DATABASE_URL: {exc}")
    except OSError as exc:
        fail(f"cannot use the data folder: {exc.strerror}: {exc.filename}")


def partner_id(app: App, given: int | None) -> int:
    """--partner, checked (a list for a partner that does not exist is an error, not an
    empty table), or the only partner."""
    from passeur.services import partners

    if given is None:
        return partners.the_only_partner(app).id
    return partners.get_partner(app, given).id


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
            value = _read(Path(value[1:]).expanduser(), name)
        values[name.strip()] = value
    return values


def _read(path: Path, name: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise DomainError(f"--set {name}=@{path}: cannot read it ({reason})") from None


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
