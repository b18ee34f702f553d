"""The `passeur` command: serve, worker, db, demo, and the verbs of the whole flow."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import typer

from passeur.cli.common import (
    EXIT_DATABASE,
    app_context,
    fail,
    pause_collector,
    require_schema,
    resume_collector,
    where_data_lives,
)
from passeur.cli.verbs import Verbs

if TYPE_CHECKING:
    from passeur.storage.repositories.exports import Queue

# Each command imports what it needs when it runs: `passeur --help` and a verb's start pay
# for nothing else (no connector, database or web library). See docs/decisions.md.


class Passeur(Verbs):
    listed: ClassVar[dict[str, tuple[str, str]]] = {
        "extensions": ("passeur.cli.extensions:app", "Extensions passeur can install."),
        "partners": ("passeur.cli.partners:partners_app", "Accounting firms (tenants)."),
        "clients": ("passeur.cli.partners:clients_app", "The businesses a partner serves."),
        "users": (
            "passeur.cli.partners:users_app",
            "A partner's users, their roles, and clients' business users.",
        ),
        "installations": (
            "passeur.cli.installations:installations_app",
            "Installed extensions (templates).",
        ),
        "integrations": (
            "passeur.cli.installations:integrations_app",
            "Installations added to clients.",
        ),
        "documents": ("passeur.cli.documents:app", "Clients' documents."),
        "exports": ("passeur.cli.exports:app", "Exports of documents to integrations."),
        "templates": (
            "passeur.cli.templates:app",
            "Configuration templates: a new client's team and integrations.",
        ),
        "blobs": ("passeur.cli.blobs:app", "Documents' files (the blob store)."),
        "audit": (
            "passeur.cli.audit:app",
            "The audit trail: every change to configuration and access.",
        ),
        "keys": (
            "passeur.cli.keys:app",
            "The keys that encrypt secrets (PASSEUR_SECRET_KEYS, newest first).",
        ),
        "api-clients": (
            "passeur.cli.api_clients:app",
            "API clients of the REST API (/api/v1) and their tokens.",
        ),
        "webhooks": (
            "passeur.cli.webhooks:app",
            "Partner events by webhook: export.delivered, export.failed, "
            "export.needs_attention, integration.status_changed, document.released.",
        ),
    }


app = typer.Typer(
    cls=Passeur,
    help="passeur: send clients' documents to the applications a firm uses.\n\n"
    "Data lives in PASSEUR_DATA_DIR (default: var, relative to the folder you run passeur "
    "in): the SQLite database passeur.db (created on first use), the blobs and the key "
    "file. PASSEUR_DATABASE_URL points elsewhere (PostgreSQL: run `passeur db upgrade` "
    "first). -v shows where this command's data lives.",
    epilog="Exit codes: 0 done; 1 a check or an inspection found a problem; 2 refused "
    "(bad input, unknown id, conflict, bad setting; nothing changed); 3 the target "
    "refused or could not be reached; 4 the database is unreachable or its schema is "
    "not the one needed.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Say where the data lives (folder, database, keys)."
    ),
) -> None:
    from pydantic import ValidationError

    ctx.obj = {"verbose": verbose}
    if verbose and ctx.invoked_subcommand != "demo":  # the demo has a folder of its own
        with contextlib.suppress(ValidationError):  # the command itself reports bad settings
            typer.echo(f"passeur: {where_data_lives()}", err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from alembic.util.exc import CommandError

    from passeur.storage import schema

    with app_context(schema_check=False) as built:
        try:
            schema.upgrade(built.engine)
        except CommandError as exc:  # e.g. a revision only a newer passeur knows
            fail(f"cannot upgrade the database: {exc}", EXIT_DATABASE)
        typer.echo(f"database at revision {schema.current_revision(built.engine)}")


@db_app.command("backup")
def db_backup(
    path: Path = typer.Argument(..., help="The new file (refused if it exists)."),
) -> None:
    """Copy the SQLite database to PATH while web and workers keep running (SQLite's
    online backup). PostgreSQL: use pg_dump (docs/deployment.md)."""
    from passeur.storage.backup import backup_sqlite

    with app_context(schema_check=False) as built:
        if built.engine.dialect.name != "sqlite":
            fail("the database is not SQLite: back it up with pg_dump (docs/deployment.md)")
        if path.exists():
            fail(f"{path} already exists: give a new file")
        pages = backup_sqlite(built.engine, path)
        typer.echo(f"database copied to {path} ({pages} pages)")


@app.command()
def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on (PASSEUR_WEB_HOST)."),
    port: int = typer.Option(None, "--port", help="Port (PASSEUR_WEB_PORT; 0: any free one)."),
) -> None:
    """Serve the partner space (the web UI). Every page asks for sign-in (users
    set-password); behind a reverse proxy with HTTPS when it is reachable from a network."""
    import uvicorn

    from passeur.monitoring import logs
    from passeur.web.app import create, settle
    from passeur.web.listener import PortTaken, listen

    with app_context(schema_check=False) as built:
        chosen = port if port is not None else built.settings.web_port
        try:
            listener = listen(host or built.settings.web_host, chosen, hint="--port or "
                              "PASSEUR_WEB_PORT")  # fmt: skip
        except PortTaken as exc:
            fail(str(exc))
        with listener:
            require_schema(built)
            # SIGTERM: stop accepting, finish the requests in flight (up to 30 s), exit.
            config = uvicorn.Config(create(built), log_level="info", timeout_graceful_shutdown=30)
            if built.settings.log_format == "json":
                # uvicorn's own lines through ours; a request is logged once, by the app.
                logs.configure("json")
                config = uvicorn.Config(
                    create(built),
                    log_level="info",
                    log_config=None,
                    access_log=False,
                    timeout_graceful_shutdown=30,
                )
            server = uvicorn.Server(config)
            settle()
            bound_host, bound_port = listener.getsockname()[:2]
            typer.echo(f"partner space on http://{bound_host}:{bound_port}/")
            server.run(sockets=[listener])


@app.command()
def worker(
    concurrency: int = typer.Option(
        None, "--concurrency", min=1, max=256, help="Deliveries in flight in this process."
    ),
    drain: bool = typer.Option(False, "--drain", help="Exit once nothing is due."),
    metrics_port: int = typer.Option(
        None,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve this worker's own Prometheus metrics (tries, token refreshes, pacer "
        "waits) on this port at /metrics, on PASSEUR_WEB_HOST (0: any free port).",
    ),
) -> None:
    """Deliver exports until stopped (SIGTERM / Ctrl-C finish the tries in flight)."""
    import asyncio
    import signal

    from passeur.delivery.worker import Worker
    from passeur.monitoring import logs

    with app_context(worker=True) as built:
        # Logging starts once the database is known to be usable: its checks stay quiet.
        logs.configure(built.settings.log_format)
        runner = Worker(built, concurrency=concurrency)
        exposer = None
        if metrics_port is not None:
            from passeur.monitoring.exposition import serve_worker_metrics

            exposer = serve_worker_metrics(built.settings.web_host, metrics_port)
            host, bound = exposer.server_address[:2]
            typer.echo(f"worker metrics on http://{host!s}:{bound}/metrics", err=True)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await runner.run(stop, drain=drain)

        asyncio.run(main())
        if exposer is not None:
            exposer.shutdown()
        from passeur.domain.clock import utcnow
        from passeur.services import exports  # here: the worker starts sooner without it

        typer.echo(
            f"worker {runner.name}: {runner.delivered} delivered, "
            f"{runner.failed_tries} failed tries; {left_behind(exports.queue(built), utcnow())}"
        )


def left_behind(queue: Queue, now: datetime) -> str:
    """What the worker leaves behind: how many exports wait, and when the next is due."""
    waiting = queue.pending + queue.retrying
    if not waiting:
        return "no export waiting"
    when = ""
    if queue.next_due is not None:
        due = max(queue.next_due, now).replace(microsecond=0)
        when = f", the next due at {due:%Y-%m-%d %H:%M:%S} UTC"
        if due > now:
            when += f" (in {_duration(due - now)})"
    counts = f"{queue.pending} pending, {queue.retrying} retrying"
    return f"{waiting} export(s) still waiting ({counts}){when}"


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{seconds}s"]
    return " ".join(p for p in parts if p and (p != "0s" or not (hours or minutes)))


@app.command()
def demo(
    ctx: typer.Context,
    check: bool = typer.Option(
        False, "--check", help="Run unattended; exit 0 only if all is delivered."
    ),
    folder: Path = typer.Option(Path("var/demo"), "--dir", help="Wiped and filled by the demo."),
    port: int = typer.Option(
        None, "--port", help="Partner space port (default: PASSEUR_WEB_PORT, else 8340)."
    ),
) -> None:
    """Run the whole flow on this machine: SQLite, a loopback SFTP server, sample documents,
    then the partner space with a demo administrator and business user."""
    import logging

    from passeur.demo import run_demo
    from passeur.settings import Settings
    from passeur.web.listener import PortTaken

    logging.basicConfig(level=logging.WARNING)
    if ctx.obj and ctx.obj.get("verbose"):
        typer.echo(f"passeur: the demo's data folder {folder.resolve()} (emptied first)", err=True)
    chosen = port if port is not None else Settings().web_port
    resume_collector()  # the demo runs until stopped
    try:
        code = run_demo(folder, check=check, port=chosen, say=typer.echo)
    except PortTaken as exc:
        fail(str(exc))
    raise typer.Exit(code)


def run() -> None:
    """The `passeur` program: a usage error is one line too (the command, what is wrong,
    where to look), with click's exit code (2)."""
    pause_collector()  # until the command's libraries are loaded (resume_collector)
    try:
        code = app(prog_name="passeur", standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        # Typer carries its own copy of click, whose exceptions it does not export: a
        # command-line error is recognised by what it offers, as Typer itself does.
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group given no command: its help
            typer.echo(exc.format_message(), err=True)
        else:
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "passeur"
            problem = " ".join(exc.format_message().split())
            typer.secho(f"error: {where}: {problem} (see {where} --help)", fg="red", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
