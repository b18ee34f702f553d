"""`passeur integrations backfill`: an integration's history, with a progress bar."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from passeur.bootstrap import App
from passeur.cli.common import app_context, partner_id, table
from passeur.services import backfill

POLL_SECONDS = 1.0


def run(
    integration_id: int,
    since: str,
    until: str,
    *,
    dry_run: bool,
    resend_delivered: bool,
    wait: bool,
    partner: int | None,
) -> None:
    with app_context() as app:
        pid = partner_id(app, partner)
        if dry_run:
            found = backfill.preview(
                app, pid, integration_id, since, until, resend_delivered=resend_delivered
            )
            table([[d.id, d.kind.value, d.number, d.released_at] for d in found.first],
                  ["document", "kind", "number", "released"])  # fmt: skip
            typer.echo(f"dry run: {found.count} documents would be sent; nothing saved")
            return
        run_id = _started(app, pid, integration_id, since, until, resend_delivered)
        if not wait:
            step = backfill.advance(app, pid, run_id)
            typer.echo(
                f"backfill {run_id}: {step.queued} of {step.total} queued; run the same "
                "command again to go on"
            )
            return
        try:
            _watch(app, pid, run_id)
        except KeyboardInterrupt:
            stopped = backfill.stop(app, pid, run_id)
            typer.echo(
                f"backfill {run_id} stopped: {stopped.delivered} delivered; what had not gone "
                "out is cancelled; run the same command to resume"
            )
            raise typer.Exit(1) from None


def _started(
    app: App, pid: int, integration_id: int, since: str, until: str, resend_delivered: bool
) -> int:
    """This integration's unfinished backfill of the same days, resumed; else a new one."""
    current = backfill.unfinished(app, pid, integration_id)
    if current is not None and (current.since, current.until) == (since, until):
        if current.state == backfill.STOPPED:
            backfill.resume(app, pid, current.id)
        typer.echo(f"backfill {current.id} goes on")
        return current.id
    started = backfill.start(
        app, pid, integration_id, since, until, resend_delivered=resend_delivered
    )
    typer.echo(f"backfill {started.id}: {started.total} documents")
    return started.id


def _watch(app: App, pid: int, run_id: int) -> None:
    """Top the window up and show what went out, until everything has (the worker
    delivers; Ctrl-C stops the backfill)."""
    columns = (TextColumn("backfill {task.fields[run]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"))  # fmt: skip
    with Progress(*columns) as bar:
        task = bar.add_task("", total=None, run=run_id, detail="")
        while True:
            step = backfill.advance(app, pid, run_id)
            detail = f"queued {step.queued}, failed {step.failed}, on its way {step.waiting}"
            bar.update(
                task, total=step.total, completed=step.delivered + step.failed, detail=detail
            )
            if step.done or step.state == backfill.STOPPED:
                break
            time.sleep(POLL_SECONDS)  # the worker delivers meanwhile
    typer.echo(f"backfill {run_id}: {step.delivered} delivered, {step.failed} failed")
