"""`passeur blobs`: where documents' files live, and moving them to an S3-compatible store."""

from __future__ import annotations

import typer

from passeur.cli.common import EXIT_PROBLEM_FOUND, app_context, fail

app = typer.Typer(help="Documents' files (the blob store).", no_args_is_help=True)


@app.command("migrate")
def migrate_blobs(
    to: str = typer.Option(..., "--to", help="The new store: s3://bucket/prefix."),
    verify: bool = typer.Option(
        False, "--verify", help="Read every blob back from the new store and check its SHA-256."
    ),
) -> None:
    """Copy the folder store's blobs to another store. Run it again after a failure: what
    is already there is skipped. Then set PASSEUR_BLOB_URL to the new store."""
    from passeur.bootstrap import blob_store
    from passeur.storage.blob_migration import migrate
    from passeur.storage.blobs import LocalBlobStore

    with app_context(schema_check=False) as built:
        if not isinstance(built.blobs, LocalBlobStore):
            fail(f"the blobs are already at {built.blobs.url}: migrate from a folder store")
        if not to.startswith("s3://"):
            fail("--to takes an s3://bucket/prefix URL")
        try:
            destination = blob_store(built.settings, to)
        except ValueError as exc:
            fail(f"--to: {exc}")
        destination.check()
        done = migrate(built.blobs, destination, verify=verify)
        line = f"{done.copied} copied, {done.skipped} already there"
        if verify:
            line += f", {done.verified} verified"
        typer.echo(f"blobs {built.blobs.url} -> {destination.url}: {line}")
        if done.damaged:
            for sha in done.damaged:
                typer.echo(f"does not read back whole: {sha}", err=True)
            raise typer.Exit(EXIT_PROBLEM_FOUND)
