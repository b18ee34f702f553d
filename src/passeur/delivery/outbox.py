"""The transactional outbox: a document's exports are created in the transaction that
releases it (approved, sent, arrived), one per receiving integration, and a re-send
creates the next version of one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)

from passeur.connectors import registry
from passeur.delivery.review_holds import held_reason
from passeur.delivery.wakeups import CHANNEL, notify
from passeur.domain.documents import AccountingStatus, Document, Family, Lifecycle
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.storage.repositories import documents as document_rows
from passeur.storage.tables import exports, installations

# The state an export starts in, by its integration's status.
INITIAL_STATE = {
    IntegrationStatus.ACTIVE: ExportState.PENDING,
    IntegrationStatus.PAUSED: ExportState.HELD,
    IntegrationStatus.NEEDS_ATTENTION: ExportState.NEEDS_ATTENTION,
}


def pulled_slugs() -> list[str]:
    """The extensions whose exports wait on a feed instead of being pushed."""
    return [slug for slug, ext in registry.extensions().items() if ext.pulled]


def pulled_installations() -> Any:
    """The ids of the installations of pulled extensions (a subquery)."""
    return select(installations.c.id).where(installations.c.extension.in_(pulled_slugs()))


def initial_state(conn: Connection, integration_row: Any) -> ExportState:
    """The state a new export starts in: by its integration's status, and on the feed
    rather than the worker's queue when its extension is pulled."""
    state = INITIAL_STATE.get(IntegrationStatus(integration_row.status), ExportState.PENDING)
    if state is not ExportState.PENDING:
        return state
    slug = getattr(integration_row, "extension", None)
    if slug is None:  # a row without its installation's extension: read it
        slug = conn.execute(
            select(installations.c.extension).where(
                installations.c.id == integration_row.installation_id
            )
        ).scalar_one()
    pulled = slug in registry.extensions() and registry.extension(slug).pulled
    return ExportState.ON_FEED if pulled else state


@dataclass(frozen=True)
class Planned:
    """The exports a release creates: their rows, and their states by document id."""

    rows: list[dict[str, Any]]
    states: dict[int, list[ExportState]]

    @property
    def wakes(self) -> bool:
        return any(row["state"] == ExportState.PENDING.value for row in self.rows)


def plan(
    conn: Connection,
    releases: Sequence[tuple[Document, Iterable[Any]]],
    accepts: Callable[[Any], Collection[Family]],
    now: datetime,
) -> Planned:
    """Version 1 of an export per document and integration, not yet written.

    Each document comes with its client's receiving integration rows. Only integrations
    activated before `now` get one: no history unless asked for. `accepts` gives the
    families an integration row receives (its extension's, narrowed by the integration's
    own values). A paused integration's export is held; one behind an integration that
    needs attention waits with it; both go out once the integration is active again.
    """
    created: dict[int, list[ExportState]] = {}
    rows = []
    families: dict[int, Collection[Family]] = {}  # per integration: read once per batch
    starts: dict[int, ExportState] = {}
    for document, integration_rows in releases:
        states = created.setdefault(document.id, [])
        for row in integration_rows:
            if row.id not in families:
                families[row.id] = accepts(row)
            if row.activated_at > now or document.family not in families[row.id]:
                continue
            if row.id not in starts:
                starts[row.id] = initial_state(conn, row)
            state, reason = _review_hold(document, row, starts[row.id])
            states.append(state)
            rows.append(_export_row(document, row, version=1, now=now, state=state, why=reason))
    return Planned(rows, created)


def write(conn: Connection, planned: Planned) -> None:
    """The planned exports inserted in one statement; listening workers woken at commit."""
    if planned.rows:
        conn.execute(insert(exports), planned.rows)
    if planned.wakes:
        notify(conn)


# PostgreSQL: the exports inserted, the documents released and the workers woken in one
# statement, so one round trip (an approval is otherwise a round trip per statement, and
# the approval's wait is mostly round trips). The rows come as one JSON array, as in
# outcomes.py, so the text is the same for any batch and is prepared once. pg_notify runs
# once per pending export; PostgreSQL delivers one notification per transaction for them.
_PG_RELEASE = text(
    """WITH v AS (
    SELECT * FROM json_to_recordset(CAST(:exports AS json)) AS v(partner_id bigint,
        document_id bigint, integration_id bigint, installation_id bigint, state text,
        last_error text)
), made AS (
    INSERT INTO exports (partner_id, document_id, integration_id, installation_id, version,
        state, attempts, schedule_base, due_at, last_error, created_at, updated_at)
    SELECT partner_id, document_id, integration_id, installation_id, 1, state, 0, 0,
        CASE WHEN state = 'pending' THEN CAST(:now AS timestamp) END, last_error, :now, :now
    FROM v RETURNING state
), s AS (
    SELECT * FROM json_to_recordset(CAST(:statuses AS json)) AS s(id bigint, status text)
), released AS (
    UPDATE documents SET lifecycle = :lifecycle, released_at = :now,
        accounting_status = s.status, updated_at = :now
    FROM s WHERE documents.id = s.id
)
SELECT (SELECT count(pg_notify('"""
    + CHANNEL
    + """', '')) FROM made WHERE made.state = 'pending') AS woke"""
).bindparams(bindparam("now", type_=DateTime()))
_EXPORT_FIELDS = (
    "partner_id", "document_id", "integration_id", "installation_id", "state", "last_error"
)  # fmt: skip


def release_with_exports(
    conn: Connection,
    planned: Planned,
    released: Sequence[Document],
    statuses: dict[int, AccountingStatus],
    lifecycle: Lifecycle,
    now: datetime,
) -> dict[int, Document]:
    """Write the planned exports and release the documents (read and locked by the
    caller) with their new statuses; the documents as they are now, by id."""
    if conn.dialect.name != "postgresql":
        write(conn, planned)
        return document_rows.set_released(conn, statuses, lifecycle, now)
    # The statement sets the other columns as _export_row does: version 1, due now if
    # pending, created and updated now.
    params = {
        "exports": json.dumps([{k: row[k] for k in _EXPORT_FIELDS} for row in planned.rows]),
        "statuses": json.dumps([{"id": i, "status": s.value} for i, s in statuses.items()]),
        "lifecycle": lifecycle.value,
        "now": now,
    }
    conn.execute(_PG_RELEASE, params)
    # What the UPDATE wrote, without reading the rows back: parsing the documents' 26
    # columns again was a tenth of an approval's CPU.
    return {
        d.id: replace(d, lifecycle=lifecycle, released_at=now, accounting_status=statuses[d.id])
        for d in released
    }


def create_next_version(
    conn: Connection, document: Document, integration_row: Any, now: datetime
) -> int:
    """A (re-)send: a new version with a new key; unfinished older versions are cancelled."""
    latest = conn.execute(
        select(func.max(exports.c.version)).where(
            exports.c.document_id == document.id,
            exports.c.integration_id == integration_row.id,
        )
    ).scalar()
    conn.execute(
        update(exports)
        .where(
            exports.c.document_id == document.id,
            exports.c.integration_id == integration_row.id,
            exports.c.state.not_in([ExportState.DELIVERED.value, ExportState.CANCELLED.value]),
        )
        .values(state=ExportState.CANCELLED.value, due_at=None, lease_owner="", updated_at=now)
    )
    state, reason = _review_hold(document, integration_row, initial_state(conn, integration_row))
    row = _export_row(
        document, integration_row, version=(latest or 0) + 1, now=now, state=state, why=reason
    )
    pk = conn.execute(insert(exports).values(**row)).inserted_primary_key
    assert pk is not None
    new_id = int(pk[0])
    notify(conn)
    return new_id


def _review_hold(
    document: Document, integration_row: Any, state: ExportState
) -> tuple[ExportState, str]:
    """A document awaiting review waits before a booking extension (review_holds); a
    paused integration's export stays held, and is checked again when it is resumed."""
    reason = "" if state is ExportState.HELD else held_reason(document, integration_row)
    return (ExportState.NEEDS_ATTENTION, reason) if reason else (state, "")


def _export_row(
    document: Document,
    integration_row: Any,
    *,
    version: int,
    now: datetime,
    state: ExportState,
    why: str = "",
) -> dict[str, Any]:
    return {
        "partner_id": document.partner_id,
        "document_id": document.id,
        "integration_id": integration_row.id,
        "installation_id": integration_row.installation_id,
        "version": version,
        "state": state.value,
        "attempts": 0,
        "schedule_base": 0,
        "due_at": now if state is ExportState.PENDING else None,
        "last_error": why,
        "created_at": now,
        "updated_at": now,
    }
