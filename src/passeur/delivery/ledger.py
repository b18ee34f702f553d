"""The export ledger: exports are created with their document's release (transactional
outbox), claimed in batches under a lease, and finished with a fenced update.

Nothing here holds a transaction open across network I/O: claim and finish are each one
short transaction, and the connector call happens between them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from passeur.connectors import registry
from passeur.delivery import pacer
from passeur.domain.clock import utcnow
from passeur.domain.documents import (
    AccountingStatus,
    Document,
    Family,
    Lifecycle,
    status_from_exports,
)
from passeur.domain.errors import NotFound
from passeur.domain.exports import (
    CLAIMABLE,
    RETRYABLE_BY_HAND,
    AttemptOutcome,
    ErrorClass,
    ExportState,
)
from passeur.domain.extensions import IntegrationStatus, Pacing
from passeur.domain.partners import ClientStatus
from passeur.domain.retries import RetrySchedule, decide
from passeur.storage.db import transaction
from passeur.storage.id_lists import id_in
from passeur.storage.tables import (
    attempts,
    clients,
    documents,
    exports,
    installations,
    integrations,
)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one export for one try (the fencing token is `attempt`)."""

    export_id: int
    partner_id: int
    document_id: int
    integration_id: int
    installation_id: int
    version: int
    attempt: int
    schedule_base: int
    worker: str


@dataclass(frozen=True)
class Outcome:
    """The result of one try, as the connector reported it."""

    delivered: bool
    receipt: dict[str, Any] | None = None
    error_class: ErrorClass | None = None
    message: str = ""
    retry_after: float | None = None


def create_exports(
    conn: Connection,
    document: Document,
    integration_rows: Iterable[Any],
    accepts: Callable[[Any], Collection[Family]],
    now: datetime,
) -> list[int]:
    """Create version 1 of an export per integration, in the caller's transaction.

    Only integrations activated before `now` get one: no history unless asked for.
    `accepts` gives the families an integration row receives (its extension's, narrowed
    by the integration's own values). A paused integration's export is held; one behind
    an integration that needs attention waits with it; both go out once the integration
    is active again.
    """
    created = []
    for row in integration_rows:
        if row.activated_at > now or document.family not in accepts(row):
            continue
        state = INITIAL_STATE[IntegrationStatus(row.status)]
        created.append(_insert_export(conn, document, row, version=1, now=now, state=state))
    if created:
        notify(conn)
    return created


INITIAL_STATE = {
    IntegrationStatus.ACTIVE: ExportState.PENDING,
    IntegrationStatus.PAUSED: ExportState.HELD,
    IntegrationStatus.NEEDS_ATTENTION: ExportState.NEEDS_ATTENTION,
}


def notify(conn: Connection) -> None:
    """Wake listening workers when the transaction commits (PostgreSQL LISTEN/NOTIFY)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {CHANNEL}")


CHANNEL = "passeur_exports"


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
    state = INITIAL_STATE.get(IntegrationStatus(integration_row.status), ExportState.PENDING)
    new_id = _insert_export(
        conn, document, integration_row, version=(latest or 0) + 1, now=now, state=state
    )
    notify(conn)
    return new_id


def _insert_export(
    conn: Connection,
    document: Document,
    integration_row: Any,
    version: int,
    now: datetime,
    state: ExportState,
) -> int:
    pk = conn.execute(
        insert(exports).values(
            partner_id=document.partner_id,
            document_id=document.id,
            integration_id=integration_row.id,
            installation_id=integration_row.installation_id,
            version=version,
            state=state.value,
            attempts=0,
            schedule_base=0,
            due_at=now if state is ExportState.PENDING else None,
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def extend_lease(engine: Engine, claims: Sequence[Claim], lease: timedelta) -> set[int]:
    """Push the lease of claims still held; returns the export ids whose lease was lost."""
    now = utcnow()
    lost: set[int] = set()
    with transaction(engine) as conn:
        for c in claims:
            result = conn.execute(
                update(exports).where(_fenced(c)).values(due_at=now + lease, updated_at=now)
            )
            if result.rowcount == 0:
                lost.add(c.export_id)
    return lost


def _fenced(c: Claim) -> Any:
    return and_(
        exports.c.id == c.export_id,
        exports.c.state == ExportState.RUNNING.value,
        exports.c.lease_owner == c.worker,
        exports.c.attempts == c.attempt,
    )


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
            kept[c.export_id] = _finish_in(conn, c, outcome, schedule, rng, now)
    if wake:
        notify(conn)
    return [kept[c.export_id] for c, _ in done]


# Inline values, the very condition of the partial index ix_exports_finished (SQLite
# uses a partial index only when the query states its condition, not with parameters).
_FINISHED = exports.c.state.in_(
    [literal(s.value, literal_execute=True) for s in (ExportState.DELIVERED, ExportState.CANCELLED)]
)

# The statements of the common path are built once: a worker records many tries a
# second, and building a statement costs more than running it. Each covers the whole
# batch with one text, prepared once: ids bound as one list, or one executemany where
# each row carries its own values (the receipt). The pair (id, try) is the fence: only
# the try that holds the lease can finish it.
_DELIVERED = (
    update(exports)
    .where(
        exports.c.id == bindparam("b_export"),
        exports.c.attempts == bindparam("b_try"),
        exports.c.state == ExportState.RUNNING.value,
        exports.c.lease_owner == bindparam("b_worker"),
    )
    .values(
        state=ExportState.DELIVERED.value,
        due_at=None,
        delivered_at=bindparam("b_now"),
        receipt=bindparam("b_receipt"),
        last_error_class=None,
        last_error="",
        lease_owner="",
        updated_at=bindparam("b_now"),
    )
)
_TRIES = select(exports.c.id, exports.c.attempts, exports.c.state).where(id_in(exports.c.id))
# A kept export has one running attempt: the try that delivered it.
_TRIES_DELIVERED = (
    update(attempts)
    .where(id_in(attempts.c.export_id), attempts.c.outcome == AttemptOutcome.RUNNING.value)
    .values(finished_at=bindparam("now"), outcome=AttemptOutcome.DELIVERED.value, message="")
)
# A try that delivered after losing its lease: its attempt says so all the same.
_TRY_DELIVERED = (
    update(attempts)
    .where(attempts.c.export_id == bindparam("b_export"), attempts.c.number == bindparam("b_try"))
    .values(finished_at=bindparam("b_now"), outcome=AttemptOutcome.DELIVERED.value, message="")
)
_DOCUMENT_STATES = (
    select(documents.c.id, documents.c.accounting_status, documents.c.lifecycle, exports.c.state)
    .select_from(
        documents.outerjoin(
            exports,
            and_(
                exports.c.document_id == documents.c.id,
                exports.c.state != ExportState.CANCELLED.value,
            ),
        )
    )
    .where(id_in(documents.c.id))
)
_SET_STATUS = (
    update(documents)
    .where(id_in(documents.c.id))
    .values(accounting_status=bindparam("status_value"), updated_at=bindparam("now"))
)


def _finish_delivered(
    conn: Connection, done: Sequence[tuple[Claim, Outcome]], now: datetime
) -> dict[int, bool]:
    """The common case, in a few statements whatever the batch size: the fenced update
    (only exports still leased to the same try), their receipts, their attempts, their
    documents."""
    if not done:
        return {}
    rows = [
        {
            "b_export": c.export_id,
            "b_try": c.attempt,
            "b_worker": c.worker,
            "b_now": now,
            "b_receipt": o.receipt or {},
        }
        for c, o in done
    ]
    updated = conn.execute(_DELIVERED, rows).rowcount
    if updated == len(rows):
        kept = {c.export_id for c, _ in done}
    else:  # some leases ran out: find the tries that still held theirs
        ours = {(c.export_id, c.attempt) for c, _ in done}
        found = conn.execute(_TRIES, {"ids": [c.export_id for c, _ in done]})
        kept = {
            r.id
            for r in found
            if (r.id, r.attempts) in ours and r.state == ExportState.DELIVERED.value
        }
    conn.execute(_TRIES_DELIVERED, {"ids": list(kept), "now": now})
    if len(kept) < len(rows):
        conn.execute(_TRY_DELIVERED, [r for r in rows if r["b_export"] not in kept])
    refresh_document_statuses(conn, {c.document_id for c, _ in done if c.export_id in kept})
    return {c.export_id: c.export_id in kept for c, _ in done}


def refresh_document_statuses(conn: Connection, document_ids: set[int]) -> None:
    """refresh_document_status for many documents at once (ids come from the ledger)."""
    ordered = sorted(document_ids)
    for start in range(0, len(ordered), 500):
        _refresh_some(conn, ordered[start : start + 500])


def _refresh_some(conn: Connection, document_ids: list[int]) -> None:
    """One query reads the documents with the states of their exports."""
    if not document_ids:
        return
    found: dict[int, tuple[str, str, list[str]]] = {}
    for row in conn.execute(_DOCUMENT_STATES, {"ids": document_ids}):
        entry = found.setdefault(row.id, (row.accounting_status, row.lifecycle, []))
        if row.state is not None:
            entry[2].append(row.state)
    changes: dict[str, list[int]] = {}  # new status: its documents (mostly one status)
    for document_id, (accounting_status, lifecycle, states) in found.items():
        current = AccountingStatus(accounting_status)
        status = status_from_exports(current, Lifecycle(lifecycle), states)
        if status is not current:
            changes.setdefault(status.value, []).append(document_id)
    now = utcnow()
    for value, ids in changes.items():
        conn.execute(_SET_STATUS, {"ids": ids, "status_value": value, "now": now})


def _finish_in(
    conn: Connection,
    c: Claim,
    outcome: Outcome,
    schedule: RetrySchedule,
    rng: random.Random | None,
    now: datetime,
) -> bool:
    if outcome.delivered:
        values: dict[str, Any] = {
            "state": ExportState.DELIVERED.value,
            "due_at": None,
            "delivered_at": now,
            "receipt": outcome.receipt or {},
            "last_error_class": None,
            "last_error": "",
        }
        parked_as: IntegrationStatus | None = None
    else:
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
        values = {
            "state": decision.state.value,
            "due_at": now + decision.delay if decision.delay is not None else None,
            "last_error_class": outcome.error_class.value,
            "last_error": message[:2000],
        }
        parked_as = None
        if decision.integration_disconnected:
            parked_as = IntegrationStatus.DISCONNECTED
        elif decision.integration_needs_attention:
            parked_as = IntegrationStatus.NEEDS_ATTENTION
    held = conn.execute(
        update(exports).where(_fenced(c)).values(lease_owner="", updated_at=now, **values)
    ).rowcount
    conn.execute(
        update(attempts)
        .where(attempts.c.export_id == c.export_id, attempts.c.number == c.attempt)
        .values(
            finished_at=now,
            outcome=(AttemptOutcome.DELIVERED if outcome.delivered else AttemptOutcome.ERROR).value,
            error_class=outcome.error_class.value if outcome.error_class else None,
            message=outcome.message[:2000],
        )
    )
    if not outcome.delivered:
        _pace_after_error(conn, c.installation_id, outcome, now)
    if not held:
        return False
    if parked_as is not None:
        _park_integration(conn, c.integration_id, outcome.message, now, parked_as)
    refresh_document_status(conn, c.partner_id, c.document_id)
    return True


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
    conn: Connection,
    integration_id: int,
    reason: str,
    now: datetime,
    status: IntegrationStatus = IntegrationStatus.NEEDS_ATTENTION,
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


def refresh_document_status(conn: Connection, partner_id: int, document_id: int) -> None:
    """refresh_document_statuses for one document, which must be the partner's."""
    owner = conn.execute(
        select(documents.c.partner_id).where(documents.c.id == document_id)
    ).scalar()
    if owner != partner_id:  # tenants are walled
        raise NotFound(f"document {document_id} not found")
    refresh_document_statuses(conn, {document_id})


def requeue(conn: Connection, partner_id: int, export_ids: Sequence[int]) -> int:
    """Manual retry: the exports are due now and their retry schedule starts over.

    When the integration was parked (needs attention, or disconnected because the target
    said it was gone), the person retrying says it is fixed: the integration becomes
    active again and every export parked behind it is queued too. An archived client's
    integrations stay disconnected. Only the partner's own exports and integrations are
    read or changed, whatever ids the caller passes.
    """
    now = utcnow()
    rows = conn.execute(
        select(exports.c.id, exports.c.integration_id, exports.c.state).where(
            exports.c.partner_id == partner_id, exports.c.id.in_(export_ids)
        )
    ).all()
    integration_ids = {r.integration_id for r in rows}
    reactivated = (
        conn.execute(
            update(integrations)
            .where(
                integrations.c.partner_id == partner_id,
                integrations.c.id.in_(integration_ids),
                or_(
                    integrations.c.status == IntegrationStatus.NEEDS_ATTENTION.value,
                    and_(
                        integrations.c.status == IntegrationStatus.DISCONNECTED.value,
                        integrations.c.client_id.in_(
                            select(clients.c.id).where(
                                clients.c.status != ClientStatus.ARCHIVED.value
                            )
                        ),
                    ),
                ),
            )
            .values(status=IntegrationStatus.ACTIVE.value, status_reason="", updated_at=now)
            .returning(integrations.c.id)
        )
        .scalars()
        .all()
    )
    retryable = [s.value for s in RETRYABLE_BY_HAND]
    condition: Any = exports.c.id.in_([r.id for r in rows])
    if reactivated:
        condition = or_(
            condition,
            and_(
                exports.c.integration_id.in_(reactivated),
                exports.c.state == ExportState.NEEDS_ATTENTION.value,
            ),
        )
    changed = (
        conn.execute(
            update(exports)
            .where(exports.c.partner_id == partner_id, condition, exports.c.state.in_(retryable))
            .values(
                state=ExportState.PENDING.value,
                due_at=now,
                schedule_base=exports.c.attempts,
                updated_at=now,
            )
            .returning(exports.c.document_id)
        )
        .scalars()
        .all()
    )
    refresh_document_statuses(conn, set(changed))
    if changed:
        notify(conn)
    return len(changed)


def prune(engine: Engine, retention: timedelta, batch: int = 5000) -> int:
    """Delete delivered and cancelled exports (and their tries) older than `retention`.

    Works in small batches so that no transaction on the ledger stays open for long.
    The document keeps its accounting status; its receipts go with the export.
    """
    cutoff = utcnow() - retention
    total = 0
    while True:
        with transaction(engine) as conn:
            ids = (
                conn.execute(
                    select(exports.c.id)
                    .where(_FINISHED, exports.c.updated_at < cutoff)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            if not ids:
                return total
            conn.execute(attempts.delete().where(attempts.c.export_id.in_(ids)))
            conn.execute(exports.delete().where(exports.c.id.in_(ids)))
            total += len(ids)
