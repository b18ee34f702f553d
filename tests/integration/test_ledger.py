"""Claims, leases, fencing, the retry policy and manual retries, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from passeur.bootstrap import App
from passeur.delivery import holds, leases, outcomes
from passeur.delivery.claims import _take, claim
from passeur.delivery.outcomes import Outcome
from passeur.domain.documents import AccountingStatus
from passeur.domain.exports import AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.retries import RetrySchedule
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, integrations
from passeur.storage import tables
from passeur.storage.db import transaction
from tests.clock import LedgerClock
from tests.factories import (
    Firm,
    add_integration,
    approve_invoices,
    firm,
    sftp_installation,
)

LEASE = timedelta(seconds=30)
PAST_LEASE = LEASE + timedelta(seconds=1)
FAST = RetrySchedule(delays=(0, 0), jitter=0)


@pytest.fixture
def setup(app: App, sftp: SftpSandbox, shared_data: Path) -> Firm:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    return f


def test_a_claim_holds_the_export_and_records_an_attempt(
    app: App, setup: Firm, shared_data: Path
) -> None:
    approve_invoices(app, setup, shared_data, n=3)
    held = claim(app.engine, "w1", 10, LEASE)
    assert len(held) == 3 and all(c.attempt == 1 for c in held)
    assert claim(app.engine, "w2", 10, LEASE) == []
    export, tries = exports.get(app, setup.partner_id, held[0].export_id)
    assert export.state is ExportState.RUNNING and export.lease_owner == "w1"
    assert [t.outcome for t in tries] == [AttemptOutcome.RUNNING]


def test_an_expired_lease_is_taken_over_and_the_old_try_is_fenced_off(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock
) -> None:
    approve_invoices(app, setup, shared_data)
    [first] = claim(app.engine, "w1", 10, LEASE)
    clock.advance(PAST_LEASE)
    [second] = claim(app.engine, "w2", 10, LEASE)
    assert second.export_id == first.export_id and second.attempt == 2
    late = Outcome(delivered=True, receipt={"location": "x"})
    assert outcomes.finish(app.engine, first, late, FAST) is False
    export, tries = exports.get(app, setup.partner_id, first.export_id)
    assert export.state is ExportState.RUNNING and export.lease_owner == "w2"
    assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED, AttemptOutcome.RUNNING]
    assert outcomes.finish(app.engine, second, late, FAST) is True
    export, tries = exports.get(app, setup.partner_id, first.export_id)
    assert export.state is ExportState.DELIVERED


def test_a_dead_workers_attempt_is_marked_abandoned(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock
) -> None:
    approve_invoices(app, setup, shared_data)
    [first] = claim(app.engine, "dead", 10, LEASE)
    clock.advance(PAST_LEASE)
    [second] = claim(app.engine, "alive", 10, LEASE)
    _, tries = exports.get(app, setup.partner_id, first.export_id)
    assert tries[0].outcome is AttemptOutcome.ABANDONED
    assert tries[0].error_class is ErrorClass.LEASE_EXPIRED
    # The dead worker's try does not count against the retry schedule.
    assert second.attempt == 2 and second.attempt - second.schedule_base == 1


def test_a_group_commit_keeps_each_receipt_and_fences_off_a_lost_lease(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock
) -> None:
    approve_invoices(app, setup, shared_data, n=3)
    first, second, lost = claim(app.engine, "w1", 10, LEASE)
    clock.advance(LEASE / 2)
    # The first two were extended by their worker's heartbeat; the third's lease ran
    # out and another worker took it over.
    assert leases.extend_lease(app.engine, [first, second], LEASE) == set()
    clock.advance(LEASE / 2 + timedelta(seconds=1))
    [taken] = claim(app.engine, "w2", 10, LEASE)
    assert taken.export_id == lost.export_id
    done = [
        (c, Outcome(delivered=True, receipt={"location": f"/x/{c.export_id}.pdf"}))
        for c in (first, second, lost)
    ]
    assert outcomes.finish_many(app.engine, done, FAST) == [True, True, False]
    for c in (first, second):
        export, tries = exports.get(app, setup.partner_id, c.export_id)
        assert export.state is ExportState.DELIVERED
        assert export.receipt == {"location": f"/x/{c.export_id}.pdf"}
        assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED]
    export, tries = exports.get(app, setup.partner_id, lost.export_id)
    assert export.state is ExportState.RUNNING and export.lease_owner == "w2"
    assert not export.receipt  # nothing recorded on it from the lost try
    assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED, AttemptOutcome.RUNNING]


def test_the_lease_is_extended_while_the_try_runs(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock
) -> None:
    approve_invoices(app, setup, shared_data)
    [held] = claim(app.engine, "w1", 10, LEASE)
    for _ in range(3):
        clock.advance(LEASE / 2)
        assert leases.extend_lease(app.engine, [held], LEASE) == set()
    assert claim(app.engine, "w2", 10, LEASE) == [], "held past its first lease"
    clock.advance(PAST_LEASE)
    [taken] = claim(app.engine, "w2", 10, LEASE)
    assert taken.export_id == held.export_id, "once no longer extended, it is taken over"
    assert leases.extend_lease(app.engine, [held], LEASE) == {held.export_id}


def test_transient_errors_retry_then_fail_visibly(app: App, setup: Firm, shared_data: Path) -> None:
    [doc_id] = approve_invoices(app, setup, shared_data)
    boom = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message="503 from server")
    for attempt in (1, 2):
        [c] = claim(app.engine, "w", 10, LEASE)
        assert c.attempt == attempt
        outcomes.finish(app.engine, c, boom, FAST)
        export, _ = exports.get(app, setup.partner_id, c.export_id)
        assert export.state is ExportState.RETRYING
    [c] = claim(app.engine, "w", 10, LEASE)
    outcomes.finish(app.engine, c, boom, FAST)
    export, tries = exports.get(app, setup.partner_id, c.export_id)
    assert export.state is ExportState.FAILED and "exhausted" in export.last_error
    assert len(tries) == 3
    assert documents.get(app, setup.partner_id, doc_id).accounting_status is AccountingStatus.ERROR
    exports.retry(app, setup.partner_id, c.export_id)
    [again] = claim(app.engine, "w", 10, LEASE)
    assert again.attempt == 4 and again.schedule_base == 3  # the schedule starts over
    outcomes.finish(app.engine, again, Outcome(delivered=True, receipt={}), FAST)
    status = documents.get(app, setup.partner_id, doc_id).accounting_status
    assert status is AccountingStatus.READY_TO_PROCESS


def test_rate_limits_wait_what_the_target_said(app: App, setup: Firm, shared_data: Path) -> None:
    approve_invoices(app, setup, shared_data)
    [c] = claim(app.engine, "w", 10, LEASE)
    limited = Outcome(False, error_class=ErrorClass.RATE_LIMITED, message="429", retry_after=120)
    outcomes.finish(app.engine, c, limited, FAST)
    export, _ = exports.get(app, setup.partner_id, c.export_id)
    assert export.state is ExportState.RETRYING
    assert export.next_attempt_at is not None
    wait = (export.next_attempt_at - export.updated_at).total_seconds()
    assert 119 <= wait <= 121
    assert claim(app.engine, "w", 10, LEASE) == []


def test_an_auth_error_parks_the_integration_and_its_queue(
    app: App, setup: Firm, shared_data: Path
) -> None:
    approve_invoices(app, setup, shared_data, n=3)
    [c] = claim(app.engine, "w", 1, LEASE)
    refused = Outcome(False, error_class=ErrorClass.AUTH, message="login refused")
    outcomes.finish(app.engine, c, refused, FAST)
    [integration] = integrations.list_integrations(app, setup.partner_id)
    assert integration.status is IntegrationStatus.NEEDS_ATTENTION
    assert integration.status_reason == "login refused"
    states = {r["export"].state for r in exports.list_exports(app, setup.partner_id)}
    assert states == {ExportState.NEEDS_ATTENTION}
    assert claim(app.engine, "w", 10, LEASE) == [], "no more calls to that target"
    exports.retry(app, setup.partner_id, c.export_id)  # a person fixed it
    [integration] = integrations.list_integrations(app, setup.partner_id)
    assert integration.status is IntegrationStatus.ACTIVE
    assert len(claim(app.engine, "w", 10, LEASE)) == 3


def test_rejections_fail_without_parking(app: App, setup: Firm, shared_data: Path) -> None:
    approve_invoices(app, setup, shared_data, n=2)
    [c] = claim(app.engine, "w", 1, LEASE)
    outcomes.finish(
        app.engine, c, Outcome(False, error_class=ErrorClass.REJECTED, message="400"), FAST
    )
    export, _ = exports.get(app, setup.partner_id, c.export_id)
    assert export.state is ExportState.FAILED
    assert len(claim(app.engine, "w", 10, LEASE)) == 1


def test_a_resend_is_a_new_version_that_supersedes_unfinished_ones(
    app: App, setup: Firm, shared_data: Path
) -> None:
    [doc_id] = approve_invoices(app, setup, shared_data)
    [c] = claim(app.engine, "w", 1, LEASE)
    outcomes.finish(
        app.engine, c, Outcome(False, error_class=ErrorClass.REJECTED, message="no"), FAST
    )
    [new_id] = documents.resend(app, setup.partner_id, doc_id)
    old, _ = exports.get(app, setup.partner_id, c.export_id)
    new, _ = exports.get(app, setup.partner_id, new_id)
    assert old.state is ExportState.CANCELLED
    assert new.version == 2 and new.key != old.key and new.state is ExportState.PENDING
    assert documents.get(app, setup.partner_id, doc_id).accounting_status is AccountingStatus.QUEUED


def test_only_failed_or_waiting_exports_can_be_retried(
    app: App, setup: Firm, shared_data: Path
) -> None:
    from passeur.domain.errors import Conflict

    approve_invoices(app, setup, shared_data)
    [c] = claim(app.engine, "w", 1, LEASE)
    with pytest.raises(Conflict, match="running"):
        exports.retry(app, setup.partner_id, c.export_id)


@pytest.mark.parametrize("delivered", [True, False], ids=["delivered", "failed"])
def test_a_worker_cannot_finish_an_old_try_of_an_export_it_claimed_again(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock, delivered: bool
) -> None:
    """The fence is the pair (worker, try number): the same worker, whose lease ran out
    and who claimed the export again, may finish only its new try."""
    approve_invoices(app, setup, shared_data)
    [old] = claim(app.engine, "w1", 10, LEASE)
    clock.advance(PAST_LEASE)
    [new] = claim(app.engine, "w1", 10, LEASE)
    assert (new.export_id, new.worker, new.attempt) == (old.export_id, old.worker, 2)
    late = (
        Outcome(delivered=True, receipt={"location": "/old"})
        if delivered
        else Outcome(False, error_class=ErrorClass.REJECTED, message="400 from the old try")
    )
    assert outcomes.finish(app.engine, old, late, FAST) is False, "the old try was fenced off"
    export, _ = exports.get(app, setup.partner_id, old.export_id)
    assert export.state is ExportState.RUNNING and export.attempts == 2
    assert not export.receipt and not export.last_error
    done = Outcome(delivered=True, receipt={"location": "/new"})
    assert outcomes.finish(app.engine, new, done, FAST) is True
    export, _ = exports.get(app, setup.partner_id, old.export_id)
    assert export.state is ExportState.DELIVERED and export.receipt == {"location": "/new"}


def test_a_manual_retry_starts_the_retry_schedule_over(
    app: App, setup: Firm, shared_data: Path
) -> None:
    approve_invoices(app, setup, shared_data)
    boom = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message="503")
    for _ in range(FAST.max_attempts):  # three tries: the schedule is exhausted
        [c] = claim(app.engine, "w", 10, LEASE)
        outcomes.finish(app.engine, c, boom, FAST)
    export, _ = exports.get(app, setup.partner_id, c.export_id)
    assert export.state is ExportState.FAILED
    exports.retry(app, setup.partner_id, c.export_id)
    states = []
    for _ in range(FAST.max_attempts):  # three more tries, as for a new export
        [c] = claim(app.engine, "w", 10, LEASE)
        outcomes.finish(app.engine, c, boom, FAST)
        export, _ = exports.get(app, setup.partner_id, c.export_id)
        states.append(export.state)
        if export.state is not ExportState.RETRYING:
            break
    assert states == [ExportState.RETRYING, ExportState.RETRYING, ExportState.FAILED]
    assert export.attempts == 6 and "gave up after 3 tries" in export.last_error


def test_a_taken_over_try_does_not_count_against_the_retry_schedule(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock
) -> None:
    once = RetrySchedule(delays=(0,), jitter=0)  # two tries in all
    approve_invoices(app, setup, shared_data)
    claim(app.engine, "dead", 10, LEASE)
    clock.advance(PAST_LEASE)
    [second] = claim(app.engine, "alive", 10, LEASE)
    boom = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message="503")
    outcomes.finish(app.engine, second, boom, once)
    export, _ = exports.get(app, setup.partner_id, second.export_id)
    assert export.state is ExportState.RETRYING, "the dead worker's try was not the target's"
    [third] = claim(app.engine, "alive", 10, LEASE)
    outcomes.finish(app.engine, third, boom, once)
    export, _ = exports.get(app, setup.partner_id, second.export_id)
    assert export.state is ExportState.FAILED and "gave up after 2 tries" in export.last_error


def test_the_lease_is_taken_only_on_exports_still_due(
    app: App, setup: Firm, shared_data: Path, clock: LedgerClock
) -> None:
    """The claim's update checks state and due time itself: it does not lean on the row
    lock its candidate query took (SQLite takes none)."""
    approve_invoices(app, setup, shared_data, n=4)
    held, finished, waiting, due = claim(app.engine, "w1", 10, LEASE)
    outcomes.finish(app.engine, finished, Outcome(delivered=True, receipt={}), FAST)
    later = Outcome(False, error_class=ErrorClass.RATE_LIMITED, message="429", retry_after=600)
    outcomes.finish(app.engine, waiting, later, FAST)
    boom = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message="503")
    outcomes.finish(app.engine, due, boom, FAST)  # retrying, due at once
    ids = [c.export_id for c in (held, finished, waiting, due)]
    now = clock()
    with transaction(app.engine) as conn:
        taken = _take(conn, ids, [held.export_id], "w2", now, now + LEASE)
    assert [c.export_id for c in taken] == [due.export_id]
    export, tries = exports.get(app, setup.partner_id, held.export_id)
    assert export.state is ExportState.RUNNING and export.lease_owner == "w1"
    assert [t.outcome for t in tries] == [AttemptOutcome.RUNNING]
    for c in (finished, waiting):
        export, tries = exports.get(app, setup.partner_id, c.export_id)
        assert export.attempts == 1 and len(tries) == 1 and not export.lease_owner


def test_a_requeue_for_one_partner_changes_nothing_of_another(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    ours, theirs = firm(app, n_clients=1, name="Ours"), firm(app, n_clients=1, name="Theirs")
    for f in (ours, theirs):
        inst = sftp_installation(app, f.partner_id, sftp)
        add_integration(app, f.partner_id, f.clients[0].id, inst)
    approve_invoices(app, theirs, shared_data)
    [c] = claim(app.engine, "w", 10, LEASE)
    refused = Outcome(False, error_class=ErrorClass.AUTH, message="login refused")
    outcomes.finish(app.engine, c, refused, FAST)
    with transaction(app.engine) as conn:
        assert holds.requeue(conn, ours.partner_id, [c.export_id]) == 0
    export, _ = exports.get(app, theirs.partner_id, c.export_id)
    assert export.state is ExportState.NEEDS_ATTENTION and export.attempts == 1
    [integration] = integrations.list_integrations(app, theirs.partner_id)
    assert integration.status is IntegrationStatus.NEEDS_ATTENTION
    assert claim(app.engine, "w", 10, LEASE) == []


def test_a_claim_reads_the_first_due_exports_along_the_index_however_many_tie(
    app: App, setup: Firm, shared_data: Path
) -> None:
    """A backlog released at once shares one due time. The claim's candidates are read in
    (due_at, id) order along ix_exports_due and the read stops at the batch: no sort of
    every due export (PostgreSQL did one per claim while the index had due_at alone)."""
    [one] = approve_invoices(app, setup, shared_data, n=1)
    with transaction(app.engine) as conn:  # 3,000 more versions of it, due together
        row = conn.execute(select(tables.exports).where(tables.exports.c.document_id == one)).one()
        copies = [{**row._asdict(), "version": row.version + n} for n in range(1, 3001)]
        for copy in copies:
            del copy["id"]
        conn.execute(insert(tables.exports), copies)
    if app.engine.dialect.name == "postgresql":  # as autovacuum does on a database in use
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE exports")
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT exports.id, exports.installation_id"):
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", grab)
    try:
        assert claim(app.engine, "w", 10, LEASE)  # as many as the target takes at once
    finally:
        event.remove(app.engine, "before_cursor_execute", grab)
    [(statement, parameters)] = seen
    postgres = app.engine.dialect.name == "postgresql"
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    with transaction(app.engine) as conn:
        plan = [str(r[-1]) for r in conn.exec_driver_sql(explain + statement, parameters)]
    if postgres:
        assert any("Index Scan using ix_exports_due" in step for step in plan), plan
        assert not any(step.strip().startswith("->  Sort") for step in plan), plan
    else:
        assert any("USING INDEX ix_exports_due" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
