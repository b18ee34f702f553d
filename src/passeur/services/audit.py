"""The audit trail: who changed what in the configuration and access, when, from where.

Services call `record` inside the transaction that makes the change, so a change and its
event commit together or not at all. Reading is the administrators' (`Action.SEE_AUDIT`);
`verify_all` is the operator's (the command line).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.domain import audit
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change, Event, Problem
from passeur.domain.clock import utcnow
from passeur.storage.db import reading, snapshot
from passeur.storage.repositories import audit as rows
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories.audit import AuditFilter

PAGE = 50
CSV_COLUMNS = [
    "seq", "at", "actor", "origin", "action", "subject", "subject_id", "client_id",
    "integration_id", "before", "after", "hash",
]  # fmt: skip


def record(conn: Connection, partner_id: int, actor: Actor, change: Change) -> Event:
    """Append the change to the partner's trail, in the caller's transaction."""
    return rows.append(conn, partner_id, actor.label, actor.origin, change, utcnow())


@dataclass(frozen=True)
class Page:
    events: list[Event]
    older: int | None  # the `before_seq` of the next page, None at the start of the trail


def of_partner(
    app: App,
    partner_id: int,
    *,
    subject: str | None = None,
    before_seq: int | None = None,
    limit: int = PAGE,
    actor: Actor = OPERATOR,
) -> Page:
    """The firm's trail, newest first."""
    require(actor, Action.SEE_AUDIT, partner_id)
    with reading(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        return _page(conn, partner_id, AuditFilter(subject=subject), before_seq, limit)


def of_client(
    app: App,
    partner_id: int,
    client_id: int,
    *,
    before_seq: int | None = None,
    limit: int = PAGE,
    actor: Actor = OPERATOR,
) -> Page:
    """A client's events: the client itself, its team, its integrations."""
    require(actor, Action.SEE_AUDIT, partner_id)
    with reading(app.engine) as conn:
        partner_rows.get_client(conn, partner_id, client_id)
        return _page(conn, partner_id, AuditFilter(client_id=client_id), before_seq, limit)


def of_integration(
    app: App,
    partner_id: int,
    integration_id: int,
    *,
    before_seq: int | None = None,
    limit: int = PAGE,
    actor: Actor = OPERATOR,
) -> Page:
    require(actor, Action.SEE_AUDIT, partner_id)
    with reading(app.engine) as conn:
        installation_rows.get_integration_row(conn, partner_id, integration_id)
        f = AuditFilter(integration_id=integration_id)
        return _page(conn, partner_id, f, before_seq, limit)


def _page(
    conn: Connection, partner_id: int, f: AuditFilter, before_seq: int | None, limit: int
) -> Page:
    limit = max(1, min(limit, 1000))
    events = rows.page(conn, partner_id, f, limit=limit + 1, before_seq=before_seq)
    older = events[limit - 1].seq if len(events) > limit else None
    return Page(events[:limit], older)


def csv_lines(
    app: App,
    partner_id: int,
    *,
    client_id: int | None = None,
    integration_id: int | None = None,
    actor: Actor = OPERATOR,
) -> Iterator[str]:
    """The trail (or a client's, an integration's) as CSV, oldest first, line by line.
    A refusal is raised here, not when the lines are read."""
    require(actor, Action.SEE_AUDIT, partner_id)
    with reading(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        if client_id is not None:
            partner_rows.get_client(conn, partner_id, client_id)
        if integration_id is not None:
            installation_rows.get_integration_row(conn, partner_id, integration_id)
        events = [
            e
            for e in rows.chain(conn, partner_id)
            if (client_id is None or e.client_id == client_id)
            and (integration_id is None or e.integration_id == integration_id)
        ]
    return _lines(events)  # checked above, before the caller starts reading


def _lines(events: list[Event]) -> Iterator[str]:
    yield _csv_line(CSV_COLUMNS)
    for e in events:
        cells = [e.seq, audit.stamp(e.at), e.actor, e.origin, e.action, e.subject]
        cells += [e.subject_id, e.client_id, e.integration_id, e.before, e.after, e.hash]
        yield _csv_line(cells)


def _csv_line(values: Sequence[object]) -> str:
    out = io.StringIO()
    # A cell starting with = + - @ would be a formula in a spreadsheet: quote it as text.
    cells = ["" if v is None else str(v) for v in values]
    cells = ["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells]
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def verify(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[Problem]:
    """Every break in the partner's chain (empty: intact)."""
    require(actor, Action.SEE_AUDIT, partner_id)
    with snapshot(app.engine) as conn:  # the chain and its head as of one moment
        partner_rows.get_partner(conn, partner_id)
        return audit.verify(partner_id, rows.chain(conn, partner_id), rows.head(conn, partner_id))


def verify_all(app: App) -> tuple[int, list[Problem]]:
    """The operator's check of every partner's chain: (events checked, problems)."""
    problems: list[Problem] = []
    seen = [0]

    def counted(events: Iterator[Event]) -> Iterator[Event]:
        for event in events:  # streamed: a long trail is never held whole
            seen[0] += 1
            yield event

    with snapshot(app.engine) as conn:  # the chains and their heads as of one moment
        for partner_id in rows.partners_with_trail(conn):
            head = rows.head(conn, partner_id)
            problems += audit.verify(partner_id, counted(rows.chain(conn, partner_id)), head)
    return seen[0], problems
