"""`passeur webhooks`: where a partner's own software hears of events (signed POSTs)."""

from __future__ import annotations

import asyncio

import typer

from passeur.cli.common import EXIT_TARGET, app_context, fail, partner_id, table
from passeur.domain.events import EventType

app = typer.Typer(
    help="Partner events by webhook: " + ", ".join(t.value for t in EventType) + ".",
    no_args_is_help=True,
)
PartnerOption = typer.Option(None, "--partner", help="Partner id (default: the only one).")


@app.command("add")
def add(
    url: str,
    event: list[str] = typer.Option([], "--event", help="An event type; repeatable (none: all)."),
    client: list[int] = typer.Option([], "--client", help="A client id; repeatable (none: all)."),
    concurrency: int = typer.Option(1, "--concurrency", help="Events in flight at once (1 to 4)."),
    allow_http: bool = typer.Option(
        False, "--allow-http", help="Accept an unencrypted http:// URL (a test endpoint)."
    ),
    partner: int | None = PartnerOption,
) -> None:
    """Subscribe a URL; prints the signing secret, the only time it is shown."""
    from passeur.services import webhook_subscriptions as webhooks

    with app_context() as built:
        made, secret = webhooks.add(
            built, partner_id(built, partner), url, event_types=event, client_ids=client,
            max_concurrent=concurrency, allow_plain_http=allow_http,
        )  # fmt: skip
        typer.echo(f"webhook {made.id} {made.url}")
        typer.echo(f"signing secret (shown once, keep it now): {secret}")


@app.command("list")
def list_webhooks(partner: int | None = PartnerOption) -> None:
    """List the subscriptions (never their secrets)."""
    from passeur.services import webhook_subscriptions as webhooks

    with app_context() as built:
        rows = [
            [
                s.id,
                s.url,
                ",".join(sorted(s.event_types)) or "all",
                ",".join(str(c) for c in sorted(s.client_ids)) or "all",
                s.max_concurrent,
                "active" if s.active else f"disabled: {s.disabled_reason}",
            ]
            for s in webhooks.list_subscriptions(built, partner_id(built, partner))
        ]
        table(rows, ["id", "url", "events", "clients", "in flight", "status"])


@app.command("remove")
def remove(subscription_id: int, partner: int | None = PartnerOption) -> None:
    """Remove a subscription, with its events not sent yet."""
    from passeur.services import webhook_subscriptions as webhooks

    with app_context() as built:
        webhooks.remove(built, partner_id(built, partner), subscription_id)
        typer.echo(f"webhook {subscription_id} removed")


@app.command("test")
def test(subscription_id: int, partner: int | None = PartnerOption) -> None:
    """Send a sample event now, signed as every event is (exit 3 if it is not accepted)."""
    from passeur.services import webhook_subscriptions as webhooks

    with app_context() as built:
        pid = partner_id(built, partner)
        ok, said = asyncio.run(webhooks.test(built, pid, subscription_id))
        if not ok:
            fail(f"webhook {subscription_id}: the endpoint answered {said}", EXIT_TARGET)
        typer.echo(f"webhook {subscription_id}: sample event accepted ({said})")
