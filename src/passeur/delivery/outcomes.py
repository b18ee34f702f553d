"""Recording what a try did: the export moves on (delivered, retrying, parked, failed)
only if the try still held its lease (see `leases.fence`); its attempt is recorded in
any case. A failure counts against the target's pacing, and one that needs a person
parks the integration with every export queued behind it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, bindparam, select, text, update

from passeur.connectors import registry
from passeur.delivery import events, notices, pacer
from passeur.delivery.document_statuses import refresh_document_status, refresh_document_statuses
from passeur.delivery.leases import Claim, held_by
from passeur.delivery.wakeups import notify
from passeur.domain.clock import utcnow
from passeur.domain.events import EventType
from passeur.domain.exports import CLAIMABLE, AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus, Pacing
from passeur.domain.notices import Cause
from passeur.domain.retries import RetrySchedule, decide
from passeur.storage.db import transaction
from passeur.storage.tables import attempts, exports, installations, integrations


@dataclass(frozen=True)
class Outcome:
    """The result of one try, as the connector reported it."""

    delivered: bool
    receipt: dict[str, Any] | None = None
    error_class: ErrorClass | None = None
    message: str = ""
    retry_after: float | None = None
    reached_target: bool = True  # False: passeur's own pacing held the call back


def finish(
    engine: Engine,
    c: Claim,
    outcome: Outcome,
    schedule: RetrySchedule,
    rng: random.Random | None = None,
) -> bool:
    """Record the try and move the export on; False when the lease had been lost.

    A worker that lost its lease still records what its try did, but leaves the export to
    whoever holds it now (delivery is idempotent, so a second try is harmless).
    """
    return finish_many(engine, [(c, outcome)], schedule, rng)[0]


def finish_many(
    engine: Engine,
    done: Sequence[tuple[Claim, Outcome]],
    schedule: RetrySchedule,
    rng: random.Random | None = None,
) -> list[bool]:
    """Record several tries in one transaction (a worker's group commit)."""
    with transaction(engine) as conn:
        return record(conn, done, schedule, rng)


def record(
    conn: Connection,
    done: Sequence[tuple[Claim, Outcome]],
    schedule: RetrySchedule,
    rng: random.Random | None = None,
    *,
    wake: bool = True,
) -> list[bool]:
    """Record tries in the caller's transaction; for each, whether its lease still held.
    With `wake`, other workers hear of the room freed in the targets' pacing; the worker
    passes False and decides after its claim in the same transaction (see `notify`)."""
    now = utcnow()
    kept = _finish_delivered(conn, [(c, o) for c, o in done if o.delivered], now)
    for c, outcome in done:
        if not outcome.delivered:
            kept[c.export_id] = _finish_failed(conn, c, outcome, schedule, rng, now)
    if wake:
        notify(conn)
    return [kept[c.export_id] for c, _ in done]


# The common path in one statement for the whole batch whatever its size, built once
# (a worker records many tries a second, and building a statement costs more than running
# it): each row carries its own fence (export, try, worker) and receipt, all bound as one
# JSON array, so the text is the same for any batch and psycopg prepares it once (an
# executemany costs about a statement per row, and an array of texts is escaped element
# by element). The fenced UPDATE returns the exports it moved on: the tries that still
# held their lease. Every delivered try's attempt says so, kept or not: the (export,
# number) that the lease's try number names. On PostgreSQL both updates are one round
# trip (a data-modifying CTE; they touch different tables).
_DELIVERED_VALUES = """state = 'delivered', due_at = NULL, delivered_at = :now,
    receipt = v.receipt, last_error_class = NULL, last_error = '', lease_owner = '',
    updated_at = :now"""
_FENCE = """exports.id = v.id AND exports.state = 'running' AND exports.lease_owner = v.worker
    AND exports.attempts = v.try"""
_ATTEMPT_VALUES = "finished_at = :now, outcome = 'delivered', message = ''"
_PG_DELIVERED = text(
    f"""WITH v AS (
    SELECT * FROM json_to_recordset(CAST(:rows AS json))
        AS v(id bigint, try integer, worker text, receipt json)
), tried AS (
    UPDATE attempts SET {_ATTEMPT_VALUES} FROM v
    WHERE attempts.export_id = v.id AND attempts.number = v.try
)
UPDATE exports SET {_DELIVERED_VALUES} FROM v WHERE {_FENCE} RETURNING exports.id"""
).bindparams(bindparam("now", type_=DateTime()))
_SQLITE_ROWS = """(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.try') AS try,
    json_extract(value, '$.worker') AS worker, json_extract(value, '$.receipt') AS receipt
    FROM json_each(:rows)) AS v"""
_SQLITE_DELIVERED = text(
    f"UPDATE exports SET {_DELIVERED_VALUES} FROM {_SQLITE_ROWS} WHERE {_FENCE} "
    "RETURNING exports.id"
).bindparams(bindparam("now", type_=DateTime()))
_SQLITE_TRIED = text(
    f"UPDATE attempts SET {_ATTEMPT_VALUES} FROM {_SQLITE_ROWS} "
    "WHERE attempts.export_id = v.id AND attempts.number = v.try"
).bindparams(bindparam("now", type_=DateTime()))


def _finish_delivered(
    conn: Connection, done: Sequence[tuple[Claim, Outcome]], now: datetime
) -> dict[int, bool]:
    """The common case, in a few statements whatever the batch size: the fenced update
    (only exports still leased to the same try) with their receipts, their attempts,
    their documents."""
    if not done:
        return {}
    rows = json.dumps(
        [
            {"id": c.export_id, "try": c.attempt, "worker": c.worker, "receipt": o.receipt or {}}
            for c, o in done
        ]
    )
    params = {"rows": rows, "now": now}
    if conn.dialect.name == "postgresql":
        kept = set(conn.execute(_PG_DELIVERED, params).scalars())
    else:
        kept = set(conn.execute(_SQLITE_DELIVERED, params).scalars())
        conn.execute(_SQLITE_TRIED, params)
    delivered = {c.document_id for c, _ in done if c.export_id in kept}
    listening = refresh_document_statuses(conn, delivered)
    if listening:
        events.exports_changed(conn, EventType.EXPORT_DELIVERED, sorted(kept), listening=listening)
    return {c.export_id: c.export_id in kept for c, _ in done}


def _finish_failed(
    conn: Connection,
    c: Claim,
    outcome: Outcome,
    schedule: RetrySchedule,
    rng: random.Random | None,
    now: datetime,
) -> bool:
    """One failed try: the retry policy decides what comes next for the export."""
    assert outcome.error_class is not None
    decision = decide(
        outcome.error_class,
        c.attempt - c.schedule_base,
        schedule,
        retry_after=outcome.retry_after,
        rng=rng,
    )
    message = outcome.message
    if decision.reason:
        message = f"{message} ({decision.reason})"
    parked_as: IntegrationStatus | None = None
    if decision.integration_disconnected:
        parked_as = IntegrationStatus.DISCONNECTED
    elif decision.integration_needs_attention:
        parked_as = IntegrationStatus.NEEDS_ATTENTION
    held = conn.execute(
        update(exports)
        .where(held_by(c))
        .values(
            lease_owner="",
            updated_at=now,
            state=decision.state.value,
            due_at=now + decision.delay if decision.delay is not None else None,
            last_error_class=outcome.error_class.value,
            last_error=message[:2000],
        )
    ).rowcount
    conn.execute(
        update(attempts)
        .where(attempts.c.export_id == c.export_id, attempts.c.number == c.attempt)
        .values(
            finished_at=now,
            outcome=AttemptOutcome.ERROR.value,
            error_class=outcome.error_class.value,
            message=outcome.message[:2000],
        )
    )
    if outcome.reached_target:
        _pace_after_error(conn, c.installation_id, outcome, now)
    if not held:
        return False
    if parked_as is not None:
        _park_integration(conn, c.integration_id, outcome.message, now, parked_as)
        events.integration_changed(conn, c.partner_id, c.integration_id, parked_as.value)
    if decision.state is ExportState.FAILED:
        events.exports_changed(conn, EventType.EXPORT_FAILED, [c.export_id])
    elif decision.state is ExportState.NEEDS_ATTENTION:
        events.exports_changed(conn, EventType.EXPORT_NEEDS_ATTENTION, [c.export_id])
    _tell_people(conn, c, parked_as, decision.state, outcome.message)
    refresh_document_status(conn, c.partner_id, c.document_id)
    return True


_PARKED = {
    IntegrationStatus.NEEDS_ATTENTION: Cause.INTEGRATION_NEEDS_ATTENTION,
    IntegrationStatus.DISCONNECTED: Cause.INTEGRATION_DISCONNECTED,
}
_FAILED = {
    ExportState.FAILED: Cause.EXPORT_FAILED,
    ExportState.NEEDS_ATTENTION: Cause.EXPORT_NEEDS_ATTENTION,
}


def _tell_people(
    conn: Connection,
    c: Claim,
    parked_as: IntegrationStatus | None,
    state: ExportState,
    message: str,
) -> None:
    """Notify the client's people, in this transaction: of the parked integration (which
    says it all), else of the export that failed or waits for a person."""
    cause = _PARKED.get(parked_as) if parked_as is not None else _FAILED.get(state)
    if cause is not None:
        extra = {} if parked_as is not None else {"export_id": c.export_id}
        notices.record(conn, cause, c.integration_id, reason=message, extra=extra)


def _pace_after_error(
    conn: Connection, installation_id: int, outcome: Outcome, now: datetime
) -> None:
    """Every failing call counts against the target's hourly error budget; a Retry-After
    stops every worker from calling the target until then."""
    row = conn.execute(
        select(installations.c.extension, installations.c.config).where(
            installations.c.id == installation_id
        )
    ).first()
    extension = registry.extensions().get(row.extension) if row is not None else None
    limits = extension.pacing_for(row.config or {}) if extension and row else Pacing()
    pacer.record_error(conn, installation_id, limits, now)
    if outcome.error_class is ErrorClass.RATE_LIMITED and outcome.retry_after:
        until = now + timedelta(seconds=outcome.retry_after)
        pacer.block(
            conn, installation_id, until, f"the target asked to wait until {until:%H:%M:%S}"
        )


def _park_integration(
    conn: Connection, integration_id: int, reason: str, now: datetime, status: IntegrationStatus
) -> None:
    """Needs attention, or disconnected: no more calls to this target until a person acts."""
    conn.execute(
        update(integrations)
        .where(integrations.c.id == integration_id)
        .values(status=status.value, status_reason=reason[:1000], updated_at=now)
    )
    waiting = {
        IntegrationStatus.NEEDS_ATTENTION: "waiting: the integration needs attention",
        IntegrationStatus.DISCONNECTED: "waiting: the integration was disconnected",
    }[status]
    parked = conn.execute(
        update(exports)
        .where(
            exports.c.integration_id == integration_id,
            exports.c.state.in_([s.value for s in CLAIMABLE]),
        )
        .values(
            state=ExportState.NEEDS_ATTENTION.value,
            due_at=None,
            last_error=waiting,
            updated_at=now,
        )
        .returning(exports.c.partner_id, exports.c.document_id)
    ).all()
    refresh_document_statuses(conn, {r.document_id for r in parked})
