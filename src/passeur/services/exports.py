"""Watching exports and retrying them by hand (the partner space's, never a business user's)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.delivery import ledger
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, require
from passeur.domain.errors import Conflict
from passeur.domain.exports import RETRYABLE_BY_HAND, Attempt, Export
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import exports as rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories.exports import ExportFilter


def list_exports(
    app: App, partner_id: int, f: ExportFilter | None = None, *, actor: Actor = OPERATOR
) -> list[dict[str, Any]]:
    """Exports with the names a person needs to read them (client, file, installation),
    of the clients the actor may see."""
    f = f or ExportFilter()
    with reading(app.engine) as conn:
        within = _within(conn, actor, Action.SEE_EXPORTS, partner_id, f)
        found = rows.list_export_rows(conn, partner_id, f, within)
    return [
        {
            "export": rows.to_export(r),
            "client_id": r.client_id,
            "client_name": r.client_name,
            "filename": r.filename,
            "installation_name": r.installation_name,
            "extension": r.extension,
        }
        for r in found
    ]


def get(
    app: App, partner_id: int, export_id: int, *, actor: Actor = OPERATOR
) -> tuple[Export, list[Attempt]]:
    require(actor, Action.SEE_EXPORTS, partner_id)
    with reading(app.engine) as conn:
        export = _export(conn, partner_id, export_id, actor, Action.SEE_EXPORTS)
        return export, rows.attempts_of(conn, export_id)


def retry(app: App, partner_id: int, export_id: int, *, actor: Actor = OPERATOR) -> Export:
    """Queue a failed, parked or waiting export again, now, with a fresh retry schedule."""
    require(actor, Action.RETRY_EXPORTS, partner_id)
    with transaction(app.engine) as conn:
        export = _export(conn, partner_id, export_id, actor, Action.RETRY_EXPORTS)
        if export.state not in RETRYABLE_BY_HAND:
            raise Conflict(
                f"export {export_id} is {export.state.value}; only failed, waiting or "
                "retrying exports can be retried"
            )
        ledger.requeue(conn, partner_id, [export_id])
        return rows.get_export(conn, partner_id, export_id)


def retry_matching(
    app: App, partner_id: int, f: ExportFilter, *, confirm: bool, actor: Actor = OPERATOR
) -> int:
    """Retry every failed, waiting or retrying export that matches the filter, among the
    clients on which the actor may retry.

    Without `confirm` nothing runs: the count says how many would be retried (a preview).
    """
    require(actor, Action.RETRY_EXPORTS, partner_id)
    states = f.states or RETRYABLE_BY_HAND
    if not set(states) <= set(RETRYABLE_BY_HAND):
        raise Conflict("only failed, waiting (needs attention) or retrying exports can be retried")
    scoped = replace(f, states=tuple(states), limit=1_000_000)
    with transaction(app.engine) as conn:
        within = _within(conn, actor, Action.RETRY_EXPORTS, partner_id, f)
        ids = [r.id for r in rows.list_export_rows(conn, partner_id, scoped, within)]
        if confirm and ids:
            ledger.requeue(conn, partner_id, ids)
        return len(ids)


def _within(
    conn: Connection, actor: Actor, action: Action, partner_id: int, f: ExportFilter
) -> frozenset[int] | None:
    """The clients the actor may act on; a client named in the filter must be one of them."""
    within = clients_within(actor, action, partner_id)
    if f.client_id is not None:
        partner_rows.get_client(conn, partner_id, f.client_id)
        require(actor, action, partner_id, f.client_id)
    return within


def _export(
    conn: Connection, partner_id: int, export_id: int, actor: Actor, action: Action
) -> Export:
    export = rows.get_export(conn, partner_id, export_id)
    client_id = rows.client_of(conn, partner_id, export_id)
    require(actor, action, partner_id, client_id, what=f"export {export_id}")
    return export
