"""`passeur keys`: move every secret to the newest key, and check that none is left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from passeur.cli.common import EXIT_PROBLEM_FOUND, EXIT_REFUSED, app_context, fail

if TYPE_CHECKING:
    from passeur.services.keys import KeyReport


app = typer.Typer(
    help="The keys that encrypt secrets (PASSEUR_SECRET_KEYS, newest first).",
    no_args_is_help=True,
)


@app.command()
def rotate() -> None:
    """Re-encrypt every secret under the newest key of PASSEUR_SECRET_KEYS. Web and
    workers may keep running, as long as they already accept the newest key (README,
    "Rotating the secret key"). Safe to run again."""
    from passeur.services import keys

    with app_context() as app:
        report = keys.rotate(app)
    typer.echo(f"{report.resealed} secret(s) re-encrypted under key {report.newest}")
    _summary(report)
    if report.unopenable:
        fail(_unopenable(report), EXIT_REFUSED)
    if report.old:
        fail(f"{len(report.old)} secret(s) changed during the rotation: run it again")


@app.command()
def check() -> None:
    """Report secrets still under an older key (exit 1 when any), or that no
    configured key opens."""
    from passeur.services import keys

    with app_context() as app:
        report = keys.check(app)
    _summary(report)
    if report.unopenable:
        fail(_unopenable(report), EXIT_PROBLEM_FOUND)
    if report.old:
        shown = ", ".join(report.old[:10]) + (" …" if len(report.old) > 10 else "")
        fail(
            f"{len(report.old)} secret(s) still under an older key ({shown}): "
            "run `passeur keys rotate`",
            EXIT_PROBLEM_FOUND,
        )


def _summary(report: KeyReport) -> None:
    for key_id, count in sorted(report.by_key.items()):
        newest = " (newest: seals)" if key_id == report.newest else ""
        typer.echo(f"key {key_id}{newest}: {count} secret(s)")
    if not report.by_key:
        typer.echo(f"no secret stored yet; the newest key is {report.newest}")


def _unopenable(report: KeyReport) -> str:
    shown = ", ".join(report.unopenable[:10]) + (" …" if len(report.unopenable) > 10 else "")
    return (
        f"{len(report.unopenable)} secret(s) that no configured key opens ({shown}): "
        "put their key back in PASSEUR_SECRET_KEYS"
    )
