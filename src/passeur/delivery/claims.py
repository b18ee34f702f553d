"""Claiming due exports: one short transaction that respects every target's pacing.

Due means pending or retrying with `due_at` passed, or running with an expired lease (its
worker died): those are taken over and their open attempt is marked abandoned. PostgreSQL
skips rows other claimers hold (SKIP LOCKED); SQLite serialises claimers (BEGIN IMMEDIATE).
Extensions that need it get their exports in approval order, one in flight per integration.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    String,
    bindparam,
    case,
    exists,
    insert,
    literal,
    or_,
    select,
    update,
)

from passeur.connectors import registry
from passeur.delivery import pacer
from passeur.delivery.leases import Claim
from passeur.domain.clock import utcnow
from passeur.domain.exports import CLAIMABLE, OPEN, AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import Pacing
from passeur.storage.db import transaction
from passeur.storage.id_lists import id_in
from passeur.storage.tables import attempts, exports, installations

DUE_STATES = [s.value for s in (*CLAIMABLE, ExportState.RUNNING)]
# Inline values, the very condition of the partial index ix_exports_due: SQLite uses a
# partial index only when the query states its condition, and cannot with parameters.
_DUE = exports.c.state.in_([literal(s, literal_execute=True) for s in DUE_STATES])
_OPEN_STATES = [s.value for s in OPEN]
OVERFETCH = 3  # candidates per slot, so a throttled target does not starve the others


PASSES = 3  # a pass that finds only full targets looks past them in the next one


@dataclass(frozen=True)
class Claimed:
    """What one claim took, and whether due exports were left because their targets
    had no room (then claiming again at once would find none)."""

    claims: list[Claim]
    throttled: bool


def claim(engine: Engine, worker: str, limit: int, lease: timedelta) -> list[Claim]:
    """Claim up to `limit` due exports for `worker`, in a transaction of its own."""
    with transaction(engine) as conn:
        return claim_in(conn, worker, limit, lease).claims


def claim_in(conn: Connection, worker: str, limit: int, lease: timedelta) -> Claimed:
    """Claim up to `limit` due exports for `worker` in the caller's transaction.

    Candidates come first, in due order, with their installation's pacing settings; then
    the pacing state of their targets is read (under row locks on PostgreSQL, where other
    claimers run beside us; SQLite has one writer). Only the candidates' installations
    are looked at, so the cost does not grow with the number of installations. A pass
    whose targets are all full looks past them in the next one, so a throttled target
    does not starve the others.
    """
    now = utcnow()
    ordered_slugs = [slug for slug, ext in registry.extensions().items() if ext.ordered]
    full: set[int] = set()
    for _ in range(PASSES):
        query = _candidates_query(bool(full), bool(ordered_slugs))
        params = {
            "now": now,
            "n": limit * OVERFETCH,
            "full": list(full),
            "ordered_slugs": ordered_slugs,
        }
        candidates = conn.execute(query, params).all()
        if not candidates:
            return Claimed([], throttled=bool(full))
        # Locking again in a later pass may meet another claimer in the other order;
        # PostgreSQL then aborts one claim, which its worker simply tries again.
        seen = pacer.read(conn, now, {row.installation_id for row in candidates})
        limits = _declared_limits(seen)
        chosen, taken_over = _choose(candidates, seen, limits, limit)
        if chosen:
            claims = _take(conn, chosen, taken_over, worker, now, now + lease)
            counted = (c.installation_id for c in claims if limits[c.installation_id].counts_calls)
            pacer.record_calls(conn, seen, Counter(counted))
            left = len(chosen) < limit and len(chosen) < len(candidates)
            return Claimed(claims, throttled=left)
        full |= set(limits)
    return Claimed([], throttled=True)


def _choose(
    candidates: Sequence[Any], seen: pacer.Snapshot, limits: dict[int, Pacing], limit: int
) -> tuple[list[int], list[int]]:
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
    return chosen, taken_over


def _declared_limits(seen: pacer.Snapshot) -> dict[int, Pacing]:
    """The pacing of the candidates' installations (their extension's, with their own
    settings), from the rows the pacing read locked. Decoded once per installation, not
    with every candidate row: most candidates share a few installations."""
    declared = registry.extensions()
    limits: dict[int, Pacing] = {}
    for installation_id, row in seen.rows.items():
        extension = declared.get(row.extension)
        limits[installation_id] = extension.pacing_for(row.config or {}) if extension else Pacing()
    return limits


@functools.cache
def _candidates_query(passing_over_full: bool, any_ordered: bool) -> Any:
    """Built once per shape: a claim runs many times a second, and building a statement
    costs more than running it. Parameters: now, n, full, ordered_slugs."""
    query = select(exports.c.id, exports.c.installation_id, exports.c.state).where(
        _DUE, exports.c.due_at <= bindparam("now")
    )
    if passing_over_full:
        query = query.where(~id_in(exports.c.installation_id, "full"))
    if any_ordered:
        slugs: Any = bindparam("ordered_slugs", expanding=True)
        ordered = select(installations.c.id).where(installations.c.extension.in_(slugs))
        ahead = exports.alias("ahead")
        nothing_ahead = ~exists().where(
            ahead.c.integration_id == exports.c.integration_id,
            ahead.c.state.in_(_OPEN_STATES),
            ahead.c.id < exports.c.id,
        )
        query = query.where(or_(exports.c.installation_id.not_in(ordered), nothing_ahead))
    return (
        query.order_by(exports.c.due_at, exports.c.id)
        .limit(bindparam("n"))
        .with_for_update(skip_locked=True, of=exports)
    )


ABANDONED_MESSAGE = "the worker stopped answering; its lease ran out"
_ABANDON = (
    update(attempts)
    .where(
        id_in(attempts.c.export_id),
        attempts.c.outcome == AttemptOutcome.RUNNING.value,
    )
    .values(
        outcome=AttemptOutcome.ABANDONED.value,
        finished_at=bindparam("now"),
        error_class=ErrorClass.LEASE_EXPIRED.value,
        message=ABANDONED_MESSAGE,
    )
)
# The lease is taken only on exports that are still due as the update runs: the row
# lock of the candidate query is not the only guard (SQLite takes none, and a statement
# run on its own must not lease what another worker holds or has finished). A try cut
# short by a dead worker (a running export) is not the target's failure: it does not
# count against the retry schedule.
_LEASE = (
    update(exports)
    .where(id_in(exports.c.id), _DUE, exports.c.due_at <= bindparam("now"))
    .values(
        state=ExportState.RUNNING.value,
        attempts=exports.c.attempts + 1,
        schedule_base=case(
            (exports.c.state == ExportState.RUNNING.value, exports.c.schedule_base + 1),
            else_=exports.c.schedule_base,
        ),
        lease_owner=bindparam("claimer"),
        due_at=bindparam("until"),
        updated_at=bindparam("now"),
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
)


def _new_tries(leased: Any, *where: Any) -> Any:
    """The INSERT of a running attempt for each export of `leased` (the exports table, or
    the rows a lease just took) that `where` keeps: one statement for the whole batch, the
    same text whatever its size, and no row of parameters each."""
    return insert(attempts).from_select(
        ["export_id", "number", "worker", "started_at", "outcome", "message"],
        select(
            leased.c.id,
            leased.c.attempts,
            bindparam("claimer", type_=String()),
            bindparam("now", type_=DateTime()),
            literal(AttemptOutcome.RUNNING.value),
            literal(""),
        ).where(*where),
    )


_NEW_ATTEMPTS = _new_tries(exports, id_in(exports.c.id))
# PostgreSQL: the same three statements in one (one round trip; data-modifying CTEs, as
# in outcomes.py). The sibling statements see the attempts as they were before the
# statement, so only the dead worker's try is closed, and only for an export the lease
# actually took; the new tries are read from the rows just leased.
_LEASED = _LEASE.cte("leased")
_PG_LEASE_AND_TRY = select(_LEASED).add_cte(
    _ABANDON.where(
        attempts.c.export_id.in_(select(_LEASED.c.id)),
        id_in(attempts.c.export_id, "taken_over"),
    ).cte("abandoned"),
    _new_tries(_LEASED).cte("tried"),
)


def _take(
    conn: Connection, ids: list[int], taken_over: list[int], worker: str, now: Any, until: Any
) -> list[Claim]:
    # Not "worker": an UPDATE in the statement would take a parameter named like one of its
    # table's columns (attempts.worker) as a value to set.
    params = {"ids": ids, "claimer": worker, "until": until, "now": now}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_PG_LEASE_AND_TRY, {**params, "taken_over": taken_over}).all()
        return sorted((_claim(r, worker) for r in rows), key=lambda c: c.export_id)
    rows = conn.execute(_LEASE, params).all()
    leased = [r.id for r in rows]
    abandoned = sorted(set(taken_over) & set(leased))
    if abandoned:  # before the new tries are written: only the dead worker's is running
        conn.execute(_ABANDON, {"ids": abandoned, "now": now})
    claims = [_claim(r, worker) for r in rows]
    if leased:
        conn.execute(_NEW_ATTEMPTS, {"ids": leased, "claimer": worker, "now": now})
    return sorted(claims, key=lambda c: c.export_id)


def _claim(row: Any, worker: str) -> Claim:
    return Claim(
        export_id=row.id,
        partner_id=row.partner_id,
        document_id=row.document_id,
        integration_id=row.integration_id,
        installation_id=row.installation_id,
        version=row.version,
        attempt=row.attempts,
        schedule_base=row.schedule_base,
        worker=worker,
    )
