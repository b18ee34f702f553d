"""`passeur api-clients`: a partner's API clients and their personal access tokens.

A secret or a token is printed once, when it is made; passeur keeps only its digest.
"""

from __future__ import annotations

import typer

from passeur.cli.common import app_context, partner_id, table
from passeur.domain.api_scopes import MAX_PERSONAL_DAYS

app = typer.Typer(help="API clients of the REST API (/api/v1) and their tokens.",
                  no_args_is_help=True)  # fmt: skip
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")
ScopeOption = typer.Option(
    "all", "--scope", help="Space- or comma-separated scopes (<family>:read|write), or 'all'."
)


@app.command("create")
def create(name: str, scope: str = ScopeOption, partner: int | None = PartnerOption) -> None:
    """Create an API client; its client id and secret are printed once."""
    from passeur.services import api_clients

    with app_context() as built:
        made, secret = api_clients.create(built, partner_id(built, partner), name, scope)
        typer.echo(f"api client {made.id} {made.name}")
        typer.echo(f"client_id: {made.client_key}")
        typer.echo(f"client_secret: {secret}")
        typer.echo("The secret is shown only now; passeur keeps only its digest.", err=True)


@app.command("list")
def list_clients(partner: int | None = PartnerOption) -> None:
    """List the API clients (never their secrets)."""
    from passeur.services import api_clients

    with app_context() as built:
        rows = [
            [c.id, c.name, c.client_key, " ".join(sorted(c.scopes)), _when(c.revoked_at)]
            for c in api_clients.list_api_clients(built, partner_id(built, partner))
        ]
        table(rows, ["id", "name", "client_id", "scopes", "revoked"])


@app.command("revoke")
def revoke(api_client: int, partner: int | None = PartnerOption) -> None:
    """Revoke an API client: its tokens stop working on their next request."""
    from passeur.services import api_clients

    with app_context() as built:
        gone = api_clients.revoke(built, partner_id(built, partner), api_client)
        typer.echo(f"api client {gone.id} revoked")


@app.command("token")
def token(
    api_client: int,
    name: str = typer.Option(..., "--name", help="What the token is for (a script's name)."),
    days: int = typer.Option(
        90, "--days", min=1, max=MAX_PERSONAL_DAYS, help="Days until it expires."
    ),
    scope: str = typer.Option("", "--scope", help="Fewer scopes than the client's (default: all)."),
    partner: int | None = PartnerOption,
) -> None:
    """Make a personal access token for a script; printed once."""
    from passeur.services import api_clients

    with app_context() as built:
        issued = api_clients.create_personal_token(
            built, partner_id(built, partner), api_client, name, days=days, scopes=scope
        )
        typer.echo(f"token {issued.info.id} expires {issued.info.expires_at:%Y-%m-%d %H:%M} UTC")
        typer.echo(issued.token)
        typer.echo("The token is shown only now; passeur keeps only its digest.", err=True)


@app.command("tokens")
def tokens(api_client: int, partner: int | None = PartnerOption) -> None:
    """List an API client's personal access tokens (never their values)."""
    from passeur.services import api_clients

    with app_context() as built:
        found = api_clients.list_personal_tokens(built, partner_id(built, partner), api_client)
        rows = [
            [
                t.id,
                t.name,
                " ".join(sorted(t.scopes)),
                f"{t.expires_at:%Y-%m-%d}",
                _when(t.revoked_at),
            ]
            for t in found
        ]
        table(rows, ["id", "name", "scopes", "expires", "revoked"])


@app.command("revoke-token")
def revoke_token(api_client: int, token_id: str, partner: int | None = PartnerOption) -> None:
    """Revoke one personal access token."""
    from passeur.services import api_clients

    with app_context() as built:
        api_clients.revoke_token(built, partner_id(built, partner), api_client, token_id)
        typer.echo(f"token {token_id} revoked")


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else ""
