"""Backfill: send one integration the documents released between two days that it has
not received (product.md says history is never exported; a firm sometimes needs it).

A dry run counts them and shows the first ones. A run queues them through the ledger like
any export (a new export version each, so pacing, retries and receipts are the ledger's),
a window at a time, so that a quarter of history never floods the ledger ahead of the
day's documents: `advance` tops the window up and reports progress; whoever watches the
run (the page, the CLI) calls it. Stopping cancels what has not gone out; resuming goes
on from the first document not sent. A document the integration already received is
skipped unless asked; one with an export on its way always is (nothing doubled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, update

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery import outbox
from passeur.delivery.document_statuses import refresh_document_statuses
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change
from passeur.domain.backfills import FINISHED, RUNNING, STOPPED, Progress, day_range
from passeur.domain.clock import utcnow
from passeur.domain.documents import Document
from passeur.domain.errors import Conflict
from passeur.domain.exports import ON_ITS_FEED, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import backfills as rows
from passeur.storage.repositories import documents as document_rows
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories.installations import EXPORTING
from passeur.storage.tables import exports

WINDOW = 50  # a backfill's exports on their way at once
FIRST = 20  # documents a dry run shows


@dataclass(frozen=True)
class BackfillPreview:
    count: int
    first: list[Document]


def preview(
    app: App,
    partner_id: int,
    integration_id: int,
    since: str,
    until: str,
    *,
    resend_delivered: bool = False,
    actor: Actor = OPERATOR,
) -> BackfillPreview:
    """The dry run: how many documents a backfill would send, and the first ones."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    start, end = day_range(since, until)
    with reading(app.engine) as conn:
        integration = _integration(conn, actor, partner_id, integration_id)
        found = _receivable(integration, rows.candidates(
            conn, integration, start, end, resend_delivered=resend_delivered
        ))  # fmt: skip
    return BackfillPreview(len(found), [document_rows.to_document(r) for r in found[:FIRST]])


def start(
    app: App,
    partner_id: int,
    integration_id: int,
    since: str,
    until: str,
    *,
    resend_delivered: bool = False,
    actor: Actor = OPERATOR,
) -> Progress:
    """Begin a backfill (call `advance` to queue its documents)."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    begin, end = day_range(since, until)
    with transaction(app.engine) as conn:
        integration = _integration(conn, actor, partner_id, integration_id, for_update=True)
        if integration.status == IntegrationStatus.DISCONNECTED.value:
            raise Conflict(f"integration {integration_id} is disconnected; resume it first")
        if not integration.installation_active:
            raise Conflict(f"the installation of integration {integration_id} is switched off")
        busy = rows.unfinished(conn, integration_id)
        if busy is not None:
            raise Conflict(
                f"backfill {busy.id} of this integration is not finished; resume or stop it"
            )
        total = len(_receivable(integration, rows.candidates(
            conn, integration, begin, end, resend_delivered=resend_delivered
        )))  # fmt: skip
        new_id = rows.add(
            conn,
            partner_id,
            integration_id,
            since=since,
            until=until,
            resend_delivered=resend_delivered,
            state=RUNNING if total else FINISHED,
            total=total,
        )
        asked = {
            "since": since, "until": until, "resend_delivered": resend_delivered, "total": total
        }  # fmt: skip
        _record(conn, actor, "backfill.start", new_id, integration, {}, asked)
        return _progress(conn, rows.get(conn, partner_id, new_id))


def advance(app: App, partner_id: int, backfill_id: int, *, actor: Actor = OPERATOR) -> Progress:
    """Top the window up with the next documents (a running backfill); its progress."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        run = rows.get(conn, partner_id, backfill_id, for_update=True)
        integration = _integration(conn, actor, partner_id, run.integration_id)
        room = WINDOW - _on_its_way(conn, run.id)
        if run.state != RUNNING or room <= 0 or not _receiving(integration):
            return _progress(conn, run)
        begin, end = day_range(run.since, run.until)
        batch = rows.candidates(
            conn, integration, begin, end, resend_delivered=run.resend_delivered,
            after=run.cursor, limit=room, backfill_id=run.id,
        )  # fmt: skip
        now = utcnow()
        made = [
            outbox.create_next_version(conn, document_rows.to_document(r), integration, now)
            for r in _receivable(integration, batch)
        ]
        rows.link(conn, run.id, made)
        refresh_document_statuses(conn, {r.id for r in batch})
        rows.set_values(
            conn,
            run.id,
            cursor=batch[-1].id if batch else run.cursor,
            queued=run.queued + len(made),
            state=FINISHED if len(batch) < room else RUNNING,
        )
        return _progress(conn, rows.get(conn, partner_id, run.id))


def stop(app: App, partner_id: int, backfill_id: int, *, actor: Actor = OPERATOR) -> Progress:
    """Stop queueing, and cancel what has not gone out (a try in flight finishes);
    resuming sends those documents again."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        run = rows.get(conn, partner_id, backfill_id, for_update=True)
        integration = _integration(conn, actor, partner_id, run.integration_id)
        if run.state == FINISHED and _progress(conn, run).waiting == 0:
            raise Conflict(f"backfill {backfill_id} is finished")
        waiting = rows.waiting(conn, run.id)
        if waiting:
            conn.execute(
                update(exports)
                .where(exports.c.id.in_([w.id for w in waiting]))
                .values(
                    state=ExportState.CANCELLED.value,
                    due_at=None,
                    last_error="not sent: the backfill was stopped",
                    updated_at=utcnow(),
                )
            )
            refresh_document_statuses(conn, {w.document_id for w in waiting})
        first = min((w.document_id for w in waiting), default=run.cursor + 1)
        rows.set_values(
            conn,
            run.id,
            state=STOPPED,
            cursor=min(run.cursor, first - 1),
            queued=run.queued - len(waiting),
        )
        after = {"state": STOPPED, "cancelled": len(waiting)}
        _record(conn, actor, "backfill.stop", run.id, integration, {"state": run.state}, after)
        return _progress(conn, rows.get(conn, partner_id, run.id))


def resume(app: App, partner_id: int, backfill_id: int, *, actor: Actor = OPERATOR) -> Progress:
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        run = rows.get(conn, partner_id, backfill_id, for_update=True)
        integration = _integration(conn, actor, partner_id, run.integration_id)
        if run.state != STOPPED:
            raise Conflict(f"backfill {backfill_id} is {run.state}, not stopped")
        rows.set_values(conn, run.id, state=RUNNING)
        before, after = {"state": run.state}, {"state": RUNNING}
        _record(conn, actor, "backfill.resume", run.id, integration, before, after)
        return _progress(conn, rows.get(conn, partner_id, run.id))


def progress(app: App, partner_id: int, backfill_id: int, *, actor: Actor = OPERATOR) -> Progress:
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        run = rows.get(conn, partner_id, backfill_id)
        _integration(conn, actor, partner_id, run.integration_id)
        return _progress(conn, run)


def unfinished(
    app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR
) -> Progress | None:
    """The integration's backfill that is running or stopped, if any."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        _integration(conn, actor, partner_id, integration_id)
        run = rows.unfinished(conn, integration_id)
        return None if run is None else _progress(conn, run)


def _integration(
    conn: Connection,
    actor: Actor,
    partner_id: int,
    integration_id: int,
    *,
    for_update: bool = False,
) -> Any:
    row = installation_rows.get_integration_row(
        conn, partner_id, integration_id, for_update=for_update
    )
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id, row.client_id)
    inst = installation_rows.get_installation_row(conn, partner_id, row.installation_id)
    return _WithInstallation(row, inst.extension, bool(inst.active))


def _record(
    conn: Connection,
    actor: Actor,
    action: str,
    backfill_id: int,
    integration: Any,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    change = Change(
        action, backfill_id, before, after,
        client_id=integration.client_id, integration_id=integration.id,
    )  # fmt: skip
    audit.record(conn, integration.partner_id, actor, change)


class _WithInstallation:
    """An integration's row with its installation's extension and switch, as the outbox
    and the family filter read it."""

    def __init__(self, row: Any, extension: str, active: bool) -> None:
        self._row, self.extension, self.installation_active = row, extension, active

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def _receiving(integration: Any) -> bool:
    """Whether the integration takes new exports now (not removed, its installation on):
    a backfill waits meanwhile rather than sending behind a person's back."""
    return bool(integration.installation_active) and integration.status in EXPORTING


def _receivable(integration: Any, found: list[Any]) -> list[Any]:
    """The documents of the families this integration takes."""
    families = registry.extension(integration.extension).families_for(integration.config)
    return [r for r in found if document_rows.to_document(r).family in families]


def _on_its_way(conn: Connection, backfill_id: int) -> int:
    """Exports of the backfill not finished: they fill its window (a parked one too)."""
    counts = rows.states(conn, backfill_id)
    finished = {ExportState.DELIVERED, ExportState.FAILED, ExportState.CANCELLED}
    return sum(n for state, n in counts.items() if ExportState(state) not in finished)


def _progress(conn: Connection, run: Any) -> Progress:
    counts = rows.states(conn, run.id)
    on_way = [
        ExportState.PENDING,
        ExportState.RETRYING,
        ExportState.RUNNING,
        ExportState.HELD,
        *ON_ITS_FEED,
    ]
    return Progress(
        id=run.id,
        integration_id=run.integration_id,
        since=run.since,
        until=run.until,
        state=run.state,
        total=run.total,
        queued=run.queued,
        delivered=counts[ExportState.DELIVERED.value],
        failed=counts[ExportState.FAILED.value] + counts[ExportState.NEEDS_ATTENTION.value],
        waiting=sum(counts[s.value] for s in on_way),
    )
