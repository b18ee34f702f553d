"""Watching exports and retrying them by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from passeur.bootstrap import App
from passeur.delivery import ledger
from passeur.domain.errors import Conflict
from passeur.domain.exports import RETRYABLE_BY_HAND, Attempt, Export
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import exports as rows
from passeur.storage.repositories.exports import ExportFilter


def list_exports(app: App, partner_id: int, f: ExportFilter | None = None) -> list[dict[str, Any]]:
    """Exports with the names a person needs to read them (client, file, installation)."""
    with reading(app.engine) as conn:
        found = rows.list_export_rows(conn, partner_id, f or ExportFilter())
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


def get(app: App, partner_id: int, export_id: int) -> tuple[Export, list[Attempt]]:
    with reading(app.engine) as conn:
        export = rows.get_export(conn, partner_id, export_id)
        return export, rows.attempts_of(conn, export_id)


def retry(app: App, partner_id: int, export_id: int) -> Export:
    """Queue a failed, parked or waiting export again, now, with a fresh retry schedule."""
    with transaction(app.engine) as conn:
        export = rows.get_export(conn, partner_id, export_id)
        if export.state not in RETRYABLE_BY_HAND:
            raise Conflict(
                f"export {export_id} is {export.state.value}; only failed, waiting or "
                "retrying exports can be retried"
            )
        ledger.requeue(conn, partner_id, [export_id])
        return rows.get_export(conn, partner_id, export_id)


def retry_matching(app: App, partner_id: int, f: ExportFilter, *, confirm: bool) -> int:
    """Retry every failed, waiting or retrying export that matches the filter.

    Without `confirm` nothing runs: the count says how many would be retried (a preview).
    """
    states = f.states or RETRYABLE_BY_HAND
    if not set(states) <= set(RETRYABLE_BY_HAND):
        raise Conflict("only failed, waiting (needs attention) or retrying exports can be retried")
    scoped = replace(f, states=tuple(states), limit=1_000_000)
    with transaction(app.engine) as conn:
        ids = [r.id for r in rows.list_export_rows(conn, partner_id, scoped)]
        if confirm and ids:
            ledger.requeue(conn, partner_id, ids)
        return len(ids)
