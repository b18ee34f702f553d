"""Claims, leases, fencing, the retry policy and manual retries, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.delivery import ledger
from passeur.delivery.claims import claim
from passeur.delivery.ledger import Outcome
from passeur.domain.documents import AccountingStatus
from passeur.domain.exports import AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.retries import RetrySchedule
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, integrations
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
    assert ledger.finish(app.engine, first, late, FAST) is False
    export, tries = exports.get(app, setup.partner_id, first.export_id)
    assert export.state is ExportState.RUNNING and export.lease_owner == "w2"
    assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED, AttemptOutcome.RUNNING]
    assert ledger.finish(app.engine, second, late, FAST) is True
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
    assert ledger.extend_lease(app.engine, [first, second], LEASE) == set()
    clock.advance(LEASE / 2 + timedelta(seconds=1))
    [taken] = claim(app.engine, "w2", 10, LEASE)
    assert taken.export_id == lost.export_id
    done = [
        (c, Outcome(delivered=True, receipt={"location": f"/x/{c.export_id}.pdf"}))
        for c in (first, second, lost)
    ]
    assert ledger.finish_many(app.engine, done, FAST) == [True, True, False]
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
        assert ledger.extend_lease(app.engine, [held], LEASE) == set()
    assert claim(app.engine, "w2", 10, LEASE) == [], "held past its first lease"
    clock.advance(PAST_LEASE)
    [taken] = claim(app.engine, "w2", 10, LEASE)
    assert taken.export_id == held.export_id, "once no longer extended, it is taken over"
    assert ledger.extend_lease(app.engine, [held], LEASE) == {held.export_id}


def test_transient_errors_retry_then_fail_visibly(app: App, setup: Firm, shared_data: Path) -> None:
    [doc_id] = approve_invoices(app, setup, shared_data)
    boom = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message="503 from server")
    for attempt in (1, 2):
        [c] = claim(app.engine, "w", 10, LEASE)
        assert c.attempt == attempt
        ledger.finish(app.engine, c, boom, FAST)
        export, _ = exports.get(app, setup.partner_id, c.export_id)
        assert export.state is ExportState.RETRYING
    [c] = claim(app.engine, "w", 10, LEASE)
    ledger.finish(app.engine, c, boom, FAST)
    export, tries = exports.get(app, setup.partner_id, c.export_id)
    assert export.state is ExportState.FAILED and "exhausted" in export.last_error
    assert len(tries) == 3
    assert documents.get(app, setup.partner_id, doc_id).accounting_status is AccountingStatus.ERROR
    exports.retry(app, setup.partner_id, c.export_id)
    [again] = claim(app.engine, "w", 10, LEASE)
    assert again.attempt == 4 and again.schedule_base == 3  # the schedule starts over
    ledger.finish(app.engine, again, Outcome(delivered=True, receipt={}), FAST)
    status = documents.get(app, setup.partner_id, doc_id).accounting_status
    assert status is AccountingStatus.READY_TO_PROCESS


def test_rate_limits_wait_what_the_target_said(app: App, setup: Firm, shared_data: Path) -> None:
    approve_invoices(app, setup, shared_data)
    [c] = claim(app.engine, "w", 10, LEASE)
    limited = Outcome(False, error_class=ErrorClass.RATE_LIMITED, message="429", retry_after=120)
    ledger.finish(app.engine, c, limited, FAST)
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
    ledger.finish(app.engine, c, refused, FAST)
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
    ledger.finish(
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
    ledger.finish(
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

