"""Watching exports and retrying them by hand (the partner space's, never a business user's)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, require
from passeur.domain.audit import Change
from passeur.domain.cursors import Cursor
from passeur.domain.errors import Conflict
from passeur.domain.exports import RETRYABLE_BY_HAND, Attempt, Export
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import exports as rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories.exports import ExportFilter


def queue(app: App) -> rows.Queue:
    """Exports still waiting for a worker, across partners (the operator's worker summary)."""
    with reading(app.engine) as conn:
        return rows.queue(conn)


def list_exports(
    app: App, partner_id: int, f: ExportFilter | None = None, *, actor: Actor = OPERATOR
) -> list[dict[str, Any]]:
    """Exports with the names a person needs to read them (client, file, installation),
    of the clients the actor may see, newest first."""
    f = f or ExportFilter()
    with reading(app.engine) as conn:
        within = _within(conn, actor, Action.SEE_EXPORTS, partner_id, f)
        found = rows.list_export_rows(conn, partner_id, f, within)
    return [rows.to_listed(r) for r in found]


PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of the ledger and the cursors of its neighbours (None: there is none)."""

    rows: list[dict[str, Any]]
    older: str | None
    newer: str | None


def page(
    app: App,
    partner_id: int,
    f: ExportFilter | None = None,
    cursor: str = "",
    *,
    size: int = PAGE_SIZE,
    actor: Actor = OPERATOR,
) -> Page:
    """A page of `list_exports`, newest first, from an opaque cursor ("" for the newest).

    Keyset on the export's id: a page costs the same wherever it is, and exports added
    while someone pages never make a row appear twice or not at all.
    """
    at = Cursor.parse(cursor)
    base = replace(f or ExportFilter(), before_id=None, after_id=None, limit=size + 1)
    with reading(app.engine) as conn:
        within = _within(conn, actor, Action.SEE_EXPORTS, partner_id, base)
        if at is not None and at.newer:
            found = rows.list_export_rows(conn, partner_id, replace(base, after_id=at.id), within)
            if len(found) > size:  # still newer ones above this page
                kept = found[1:]
                return Page([rows.to_listed(r) for r in kept], _older(kept), _newer(kept))
            at = None  # the newest page: show it whole
        before = at.id if at is not None else None
        found = rows.list_export_rows(conn, partner_id, replace(base, before_id=before), within)
    kept = found[:size]
    older = _older(kept) if len(found) > size else None
    newer = _newer(kept) if at is not None and kept else None
    return Page([rows.to_listed(r) for r in kept], older, newer)


def _older(kept: list[Any]) -> str:
    return Cursor(kept[-1].id).token()


def _newer(kept: list[Any]) -> str:
    return Cursor(kept[0].id, newer=True).token()


def detail(
    app: App, partner_id: int, export_id: int, *, actor: Actor = OPERATOR
) -> tuple[dict[str, Any], list[Attempt]]:
    """One export with its names (as `list_exports` gives them) and every try it took."""
    require(actor, Action.SEE_EXPORTS, partner_id)
    with reading(app.engine) as conn:
        _export(conn, partner_id, export_id, actor, Action.SEE_EXPORTS)
        row = rows.get_export_row(conn, partner_id, export_id)
        return rows.to_listed(row), rows.attempts_of(conn, export_id)


def integrations_of(
    app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> list[tuple[int, str]]:
    """A client's integrations by name, to filter its exports by (id, installation name)."""
    require(actor, Action.SEE_EXPORTS, partner_id)
    with reading(app.engine) as conn:
        partner_rows.get_client(conn, partner_id, client_id)
        require(actor, Action.SEE_EXPORTS, partner_id, client_id)
        return [(r.id, r.name) for r in rows.integration_names(conn, partner_id, client_id)]


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
        from passeur.delivery import holds  # here: listing exports does not need it (start-up)

        holds.requeue(conn, partner_id, [export_id])
        after = rows.get_export(conn, partner_id, export_id)
        change = Change(
            "export.retry", export_id,
            {"state": export.state.value, "document_id": export.document_id},
            {"state": after.state.value, "document_id": export.document_id},
            client_id=rows.client_of(conn, partner_id, export_id),
            integration_id=export.integration_id,
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)
        return after


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
    scoped = replace(f, states=tuple(states), limit=1_000_000, before_id=None, after_id=None)
    with transaction(app.engine) as conn:
        within = _within(conn, actor, Action.RETRY_EXPORTS, partner_id, f)
        ids = [r.id for r in rows.list_export_rows(conn, partner_id, scoped, within)]
        if confirm and ids:
            from passeur.delivery import holds  # here: listing does not need it (start-up)

            holds.requeue(conn, partner_id, ids)
            asked = {
                "client_id": f.client_id, "integration_id": f.integration_id,
                "states": [s.value for s in states],
                "error_class": f.error_class.value if f.error_class else None,
                "since": f.since.isoformat() if f.since else None,
                "until": f.until.isoformat() if f.until else None,
            }  # fmt: skip
            change = Change(
                "export.retry_many", None, {}, {"filter": asked, "retried": len(ids)},
                client_id=f.client_id, integration_id=f.integration_id,
            )  # fmt: skip
            audit.record(conn, partner_id, actor, change)
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
