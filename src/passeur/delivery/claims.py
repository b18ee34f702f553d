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


PASSES = 3  # a pass that finds only full targets looks past them in the next one


def claim(engine: Engine, worker: str, limit: int, lease: timedelta) -> list[Claim]:
    """Claim up to `limit` due exports for `worker`.

    Candidates come first, in due order; then the pacing of their targets is read (under
    row locks on PostgreSQL, where other claimers run beside us; SQLite has one writer).
    Only the candidates' installations are looked at, so the cost does not grow with the
    number of installations. A pass whose targets are all full looks past them in the
    next one, so a throttled target does not starve the others.
    """
    now = utcnow()
    ordered_slugs = [slug for slug, ext in registry.extensions().items() if ext.ordered]
    with transaction(engine) as conn:
        full: set[int] = set()
        for _ in range(PASSES):
            query = _candidates(now, limit * OVERFETCH, full, ordered_slugs)
            candidates = conn.execute(query).all()
            if not candidates:
                return []
            targets = {c.installation_id for c in candidates}
            # Locking again in a later pass may meet another claimer in the other order;
            # PostgreSQL then aborts one claim, which its worker simply tries again.
            seen = pacer.read(conn, now, targets)
            limits = _declared_limits(conn, targets)
            chosen, taken_over, taken = _choose(candidates, seen, limits, limit)
            if chosen:
                claims = _take(conn, chosen, taken_over, worker, now, now + lease)
                pacer.record_calls(conn, seen, taken)
                return claims
            full |= targets
        return []


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


def _declared_limits(conn: Connection, ids: set[int]) -> dict[int, Pacing]:
    """The pacing of these installations (their extension's, with their own settings)."""
    declared = registry.extensions()
    limits: dict[int, Pacing] = {}
    query = select(installations.c.id, installations.c.extension, installations.c.config)
    for row in conn.execute(query.where(installations.c.id.in_(ids))):
        extension = declared.get(row.extension)
        if extension is not None:
            limits[row.id] = extension.pacing_for(row.config or {})
    return limits


def _candidates(now: Any, n: int, full: set[int], ordered_slugs: list[str]) -> Any:
    query = select(exports.c.id, exports.c.installation_id, exports.c.state).where(
        exports.c.state.in_(DUE_STATES), exports.c.due_at <= now
    )
    if full:
        query = query.where(exports.c.installation_id.not_in(full))
    if ordered_slugs:
        ordered = select(installations.c.id).where(installations.c.extension.in_(ordered_slugs))
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
