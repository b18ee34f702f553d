"""The `passeur` command: serve, worker, db, demo, and the verbs of the whole flow."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer
import uvicorn

from passeur.cli import documents, exports, extensions, installations, partners, templates
from passeur.cli.common import app_context

app = typer.Typer(
    help="passeur: send clients' documents to the applications a firm uses.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(extensions.app, name="extensions")
app.add_typer(partners.partners_app, name="partners")
app.add_typer(partners.clients_app, name="clients")
app.add_typer(partners.users_app, name="users")
app.add_typer(installations.installations_app, name="installations")
app.add_typer(installations.integrations_app, name="integrations")
app.add_typer(documents.app, name="documents")
app.add_typer(exports.app, name="exports")
app.add_typer(templates.app, name="templates")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from passeur.storage import schema

    with app_context() as built:
        schema.upgrade(built.engine)
        typer.echo(f"database at revision {schema.current_revision(built.engine)}")


@app.command()
def serve(
    host: str = typer.Option(None, "--host"), port: int = typer.Option(None, "--port")
) -> None:
    """Serve the partner space (the web UI)."""
    from passeur.web.app import create
    from passeur.web.listener import PortTaken, listen

    with app_context() as built:
        chosen = port if port is not None else built.settings.web_port
        try:
            listener = listen(host or built.settings.web_host, chosen, hint="--port or "
                              "PASSEUR_WEB_PORT")  # fmt: skip
        except PortTaken as exc:
            typer.echo(f"passeur serve: {exc}", err=True)
            raise typer.Exit(2) from None
        server = uvicorn.Server(uvicorn.Config(create(built), log_level="info"))
        bound_host, bound_port = listener.getsockname()[:2]
        typer.echo(f"partner space on http://{bound_host}:{bound_port}/")
        server.run(sockets=[listener])


@app.command()
def worker(
    concurrency: int = typer.Option(
        None, "--concurrency", min=1, max=256, help="Deliveries in flight in this process."
    ),
    drain: bool = typer.Option(False, "--drain", help="Exit once nothing is due."),
) -> None:
    """Deliver exports until stopped (SIGTERM / Ctrl-C finish the tries in flight)."""
    from passeur.delivery.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with app_context(worker=True) as built:
        runner = Worker(built, concurrency=concurrency)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await runner.run(stop, drain=drain)

        asyncio.run(main())
        typer.echo(
            f"worker {runner.name}: {runner.delivered} delivered, "
            f"{runner.failed_tries} failed tries"
        )


@app.command()
def demo(
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
    from passeur.demo import run_demo
    from passeur.settings import Settings
    from passeur.web.listener import PortTaken

    logging.basicConfig(level=logging.WARNING)
    chosen = port if port is not None else Settings().web_port
    try:
        code = run_demo(folder, check=check, port=chosen, say=typer.echo)
    except PortTaken as exc:
        typer.echo(f"passeur demo: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)
