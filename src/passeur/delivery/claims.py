"""Claiming due exports: one short transaction that respects every target's pacing.

Due means pending or retrying with `due_at` passed, or running with an expired lease (its
worker died): those are taken over and their open attempt is marked abandoned. PostgreSQL
skips rows other claimers hold (SKIP LOCKED); SQLite serialises claimers (BEGIN IMMEDIATE).
Extensions that need it get their exports in approval order, one in flight per integration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, exists, insert, or_, select, update

from passeur.connectors import registry
from passeur.delivery import pacer
from passeur.delivery.ledger import Claim
from passeur.domain.clock import utcnow
from passeur.domain.exports import CLAIMABLE, OPEN, AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import Pacing
from passeur.storage.db import transaction
from passeur.storage.tables import attempts, exports, installations

DUE_STATES = [s.value for s in (*CLAIMABLE, ExportState.RUNNING)]
_OPEN_STATES = [s.value for s in OPEN]
OVERFETCH = 3  # candidates per slot, so a throttled target does not starve the others


def claim(engine: Engine, worker: str, limit: int, lease: timedelta) -> list[Claim]:
    """Claim up to `limit` due exports for `worker`."""
    now = utcnow()
    with transaction(engine) as conn:
        limits, ordered = _declared_limits(conn)
        if conn.dialect.name == "sqlite":
            # One writer at a time: a single read of the pacing state is exact.
            seen = pacer.read(conn, now)
            full = pacer.full_installations(seen, limits)
            candidates = conn.execute(_candidates(now, limit * OVERFETCH, full, ordered)).all()
            chosen, taken_over, taken = _choose(candidates, seen, limits, limit)
        else:
            chosen, taken_over, taken, seen = _choose_shared(conn, now, limit, limits, ordered)
        if not chosen:
            return []
        claims = _take(conn, chosen, taken_over, worker, now, now + lease)
        pacer.record_calls(conn, seen, taken)
        return claims


def _choose_shared(
    conn: Connection, now: Any, limit: int, limits: dict[int, Pacing], ordered: set[int]
) -> tuple[list[int], list[int], Counter[int], pacer.Snapshot]:
    """PostgreSQL: other claimers run beside us. Take candidates first, then read the
    pacing of their targets under row locks; if every candidate's target is full, look
    past those targets once (so a throttled target does not starve the others)."""
    full: set[int] = set()
    seen = pacer.Snapshot({}, {}, pacer.Window.at(now), now)
    for _ in range(2):
        candidates = conn.execute(_candidates(now, limit * OVERFETCH, full, ordered)).all()
        if not candidates:
            return [], [], Counter(), seen
        # A second pass may lock rows out of order against another claimer; PostgreSQL
        # then aborts one claim, which its worker simply tries again.
        seen = pacer.read(conn, now, lock={c.installation_id for c in candidates})
        chosen, taken_over, taken = _choose(candidates, seen, limits, limit)
        if chosen:
            break
        full |= {c.installation_id for c in candidates}
    return chosen, taken_over, taken, seen


def _choose(
    candidates: Sequence[Any], seen: pacer.Snapshot, limits: dict[int, Pacing], limit: int
) -> tuple[list[int], list[int], Counter[int]]:
    """Candidates in due order, as far as each target's room allows."""
    chosen: list[int] = []
    taken_over: list[int] = []  # running with an expired lease: its worker died
    taken: Counter[int] = Counter()
    for candidate in candidates:
        if len(chosen) == limit:
            break
        installation = candidate.installation_id
        if taken[installation] < seen.room(installation, limits.get(installation, Pacing())):
            taken[installation] += 1
            chosen.append(candidate.id)
            if candidate.state == ExportState.RUNNING.value:
                taken_over.append(candidate.id)
    return chosen, taken_over, taken


def _declared_limits(conn: Connection) -> tuple[dict[int, Pacing], set[int]]:
    """Each installation's pacing (from its extension) and which ones must keep order."""
    declared = registry.extensions()
    limits: dict[int, Pacing] = {}
    ordered: set[int] = set()
    query = select(installations.c.id, installations.c.extension, installations.c.config)
    for row in conn.execute(query):
        extension = declared.get(row.extension)
        if extension is None:
            continue
        limits[row.id] = extension.pacing_for(row.config or {})
        if extension.ordered:
            ordered.add(row.id)
    return limits, ordered


def _candidates(now: Any, n: int, full: set[int], ordered: set[int]) -> Any:
    query = select(exports.c.id, exports.c.installation_id, exports.c.state).where(
        exports.c.state.in_(DUE_STATES), exports.c.due_at <= now
    )
    if full:
        query = query.where(exports.c.installation_id.not_in(full))
    if ordered:
        ahead = exports.alias("ahead")
        nothing_ahead = ~exists().where(
            ahead.c.integration_id == exports.c.integration_id,
            ahead.c.state.in_(_OPEN_STATES),
            ahead.c.id < exports.c.id,
        )
        query = query.where(or_(exports.c.installation_id.not_in(ordered), nothing_ahead))
    return (
        query.order_by(exports.c.due_at, exports.c.id)
        .limit(n)
        .with_for_update(skip_locked=True, of=exports)
    )


def _take(
    conn: Connection, ids: list[int], taken_over: list[int], worker: str, now: Any, until: Any
) -> list[Claim]:
    if taken_over:
        conn.execute(
            update(attempts)
            .where(
                attempts.c.export_id.in_(taken_over),
                attempts.c.outcome == AttemptOutcome.RUNNING.value,
            )
            .values(
                outcome=AttemptOutcome.ABANDONED.value,
                finished_at=now,
                error_class=ErrorClass.LEASE_EXPIRED.value,
                message="the worker stopped answering; its lease ran out",
            )
        )
    if taken_over:
        # A try cut short by a dead worker is not the target's failure: it does not count
        # against the retry schedule.
        conn.execute(
            update(exports)
            .where(exports.c.id.in_(taken_over))
            .values(schedule_base=exports.c.schedule_base + 1)
        )
    rows = conn.execute(
        update(exports)
        .where(exports.c.id.in_(ids))
        .values(
            state=ExportState.RUNNING.value,
            attempts=exports.c.attempts + 1,
            lease_owner=worker,
            due_at=until,
            updated_at=now,
        )
        .returning(
            exports.c.id,
            exports.c.partner_id,
            exports.c.document_id,
            exports.c.integration_id,
            exports.c.installation_id,
            exports.c.version,
            exports.c.attempts,
            exports.c.schedule_base,
        )
    ).all()
    claims = [
        Claim(
            export_id=r.id,
            partner_id=r.partner_id,
            document_id=r.document_id,
            integration_id=r.integration_id,
            installation_id=r.installation_id,
            version=r.version,
            attempt=r.attempts,
            schedule_base=r.schedule_base,
            worker=worker,
        )
        for r in rows
    ]
    conn.execute(
        insert(attempts),
        [
            {
                "export_id": c.export_id,
                "number": c.attempt,
                "worker": worker,
                "started_at": now,
                "outcome": AttemptOutcome.RUNNING.value,
                "message": "",
            }
            for c in claims
        ],
    )
    return sorted(claims, key=lambda c: c.export_id)
