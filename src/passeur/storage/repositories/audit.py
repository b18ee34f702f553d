"""The audit trail's rows: appended under a lock on the partner's chain head, read in
chain order. No function here updates or deletes an event (the database refuses too)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from passeur.domain.audit import GENESIS, Change, Event, canonical, chain_hash
from passeur.storage.tables import audit_events, audit_heads


@dataclass(frozen=True)
class AuditFilter:
    client_id: int | None = None
    integration_id: int | None = None
    subject: str | None = None


def append(
    conn: Connection, partner_id: int, actor: str, origin: str, change: Change, at: datetime
) -> Event:
    """Add one event at the end of the partner's chain. The head row is locked for the
    rest of the caller's transaction, so a concurrent change of the same partner waits
    and links to this event rather than to the same predecessor (no fork)."""
    seq, prev = _locked_head(conn, partner_id)
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "seq": seq + 1,
        "at": at.replace(tzinfo=None),
        "actor": actor[:300],
        "origin": origin[:100],
        "action": change.action,
        "subject": change.subject,
        "subject_id": change.subject_id,
        "client_id": change.client_id,
        "integration_id": change.integration_id,
        "before": canonical(dict(change.before)),
        "after": canonical(dict(change.after)),
        "prev_hash": prev,
    }
    event = Event(id=0, **values, hash="")
    values["hash"] = chain_hash(prev, event.content())
    key = conn.execute(insert(audit_events).values(**values)).inserted_primary_key
    assert key is not None
    new_id = int(key[0])
    conn.execute(
        update(audit_heads)
        .where(audit_heads.c.partner_id == partner_id)
        .values(seq=values["seq"], hash=values["hash"])
    )
    return Event(id=new_id, **values)


def _locked_head(conn: Connection, partner_id: int) -> tuple[int, str]:
    # A first event: create the head (a racing first writer's row wins, we then wait on it).
    statement: Any
    if conn.dialect.name == "postgresql":
        statement = pg_insert(audit_heads).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(audit_heads).on_conflict_do_nothing()
    conn.execute(statement.values(partner_id=partner_id, seq=0, hash=GENESIS))
    row = conn.execute(
        select(audit_heads.c.seq, audit_heads.c.hash)
        .where(audit_heads.c.partner_id == partner_id)
        .with_for_update()
    ).one()
    return int(row.seq), str(row.hash)


def head(conn: Connection, partner_id: int) -> tuple[int, str] | None:
    row = conn.execute(
        select(audit_heads.c.seq, audit_heads.c.hash).where(audit_heads.c.partner_id == partner_id)
    ).first()
    return (int(row.seq), str(row.hash)) if row is not None else None


def partners_with_trail(conn: Connection) -> list[int]:
    chained = select(audit_events.c.partner_id).union(select(audit_heads.c.partner_id))
    return sorted(int(p) for (p,) in conn.execute(chained))


def chain(conn: Connection, partner_id: int) -> Iterator[Event]:
    """Every event of the partner, in chain order, streamed (a long trail is not loaded)."""
    result = conn.execution_options(yield_per=1000).execute(
        select(audit_events)
        .where(audit_events.c.partner_id == partner_id)
        .order_by(audit_events.c.seq, audit_events.c.id)
    )
    for row in result:
        yield _event(row)


def page(
    conn: Connection, partner_id: int, f: AuditFilter, *, limit: int, before_seq: int | None
) -> list[Event]:
    """The newest events first, `limit` of them, older than `before_seq` if given."""
    query = select(audit_events).where(audit_events.c.partner_id == partner_id)
    if f.client_id is not None:
        query = query.where(audit_events.c.client_id == f.client_id)
    if f.integration_id is not None:
        query = query.where(audit_events.c.integration_id == f.integration_id)
    if f.subject is not None:
        query = query.where(audit_events.c.subject == f.subject)
    if before_seq is not None:
        query = query.where(audit_events.c.seq < before_seq)
    query = query.order_by(audit_events.c.seq.desc()).limit(limit)
    return [_event(row) for row in conn.execute(query)]


def _event(row: Any) -> Event:
    return Event(
        id=row.id,
        partner_id=row.partner_id,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        origin=row.origin,
        action=row.action,
        subject=row.subject,
        subject_id=row.subject_id,
        client_id=row.client_id,
        integration_id=row.integration_id,
        before=row.before,
        after=row.after,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
