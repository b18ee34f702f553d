"""Pacing per installation holds in the claim itself, shared by every worker."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.sftp import SftpConnector
from passeur.delivery import outcomes, wakeups
from passeur.delivery.claims import Claimed, claim, claim_in
from passeur.delivery.outcomes import Outcome
from passeur.delivery.worker import Worker, _Finished
from passeur.domain.clock import utcnow
from passeur.domain.exports import ErrorClass, ExportState
from passeur.domain.extensions import Pacing
from passeur.domain.retries import RetrySchedule
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import exports
from passeur.storage.db import reading, transaction
from tests.factories import (
    Firm,
    add_integration,
    approve_invoices,
    firm,
    sftp_installation,
)

LEASE = timedelta(seconds=30)
SCHEDULE = RetrySchedule(delays=(0, 0, 0, 0), jitter=0)
OK = Outcome(delivered=True, receipt={})


def declare(monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    """Give the SFTP extension other limits for one test (the registry's declaration,
    which the engine reads, and the connector's own)."""
    changes.setdefault("pace", None)  # the declared pacing, not the per-install one
    changed = replace(registry.extension("sftp"), **changes)
    declared = {**registry._declared(), "sftp": (changed, registry._declared()["sftp"][1])}
    monkeypatch.setattr(registry, "_declared", lambda: declared)
    monkeypatch.setattr(SftpConnector, "extension", changed)


@pytest.fixture
def two_targets(app: App, sftp: SftpSandbox) -> Firm:
    f = firm(app, n_clients=2)
    for client in f.clients:
        add_integration(app, f.partner_id, client.id, sftp_installation(app, f.partner_id, sftp))
    return f


def test_concurrency_is_capped_per_installation_across_workers(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, pacing=Pacing(max_concurrent=2))
    approve_invoices(app, two_targets, shared_data, 5, client=0)
    approve_invoices(app, two_targets, shared_data, 1, client=1)
    first = claim(app.engine, "w1", 10, LEASE)
    second = claim(app.engine, "w2", 10, LEASE)
    per_installation = sorted(c.installation_id for c in first + second)
    assert len(first) == 3 and second == []  # two of the first target, one of the other
    assert per_installation.count(per_installation[0]) == 2
    outcomes.finish(app.engine, first[0], OK, SCHEDULE)
    [next_one] = claim(app.engine, "w2", 10, LEASE)
    assert next_one.installation_id == first[0].installation_id


def test_calls_per_minute_and_per_day(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, pacing=Pacing(max_concurrent=10, per_minute=3, per_day=5))
    approve_invoices(app, two_targets, shared_data, 6)
    got = claim(app.engine, "w", 10, LEASE)
    assert len(got) == 3
    for c in got:
        outcomes.finish(app.engine, c, OK, SCHEDULE)
    assert claim(app.engine, "w", 10, LEASE) == [], "the minute's budget is spent"
    with reading(app.engine) as conn:
        from passeur.delivery import pacer

        row = pacer.state(conn, got[0].installation_id)
    assert row.minute_calls == 3 and row.day_calls == 3


def test_an_exhausted_error_budget_stops_all_calls_to_the_target(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, pacing=Pacing(max_concurrent=1, errors_per_hour=2))
    approve_invoices(app, two_targets, shared_data, 3, client=0)
    boom = Outcome(False, error_class=ErrorClass.TRANSIENT, message="500")
    for _ in range(2):
        [c] = claim(app.engine, "w", 10, LEASE)
        outcomes.finish(app.engine, c, boom, SCHEDULE)
    assert claim(app.engine, "w", 10, LEASE) == [], "two failing calls: no third this hour"
    with reading(app.engine) as conn:
        from passeur.delivery import pacer

        row = pacer.state(conn, c.installation_id)
    assert "failing calls this hour" in row.blocked_reason
    approve_invoices(app, two_targets, shared_data, 1, client=1)
    [other] = claim(app.engine, "w", 10, LEASE)
    assert other.installation_id != c.installation_id, "other targets are not held back"


def test_a_retry_after_pauses_every_export_of_the_target(
    app: App, two_targets: Firm, shared_data: Path
) -> None:
    approve_invoices(app, two_targets, shared_data, 3, client=0)
    [first] = claim(app.engine, "w", 1, LEASE)
    limited = Outcome(False, error_class=ErrorClass.RATE_LIMITED, message="429", retry_after=30)
    outcomes.finish(app.engine, first, limited, SCHEDULE)
    assert claim(app.engine, "w", 10, LEASE) == []
    approve_invoices(app, two_targets, shared_data, 1, client=1)
    [other] = claim(app.engine, "w", 10, LEASE)
    assert other.installation_id != first.installation_id


def test_ordered_extensions_get_one_export_at_a_time_in_approval_order(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, ordered=True, pacing=Pacing(max_concurrent=10))
    docs = approve_invoices(app, two_targets, shared_data, 3)
    seen = []
    for _ in range(3):
        got = claim(app.engine, "w", 10, LEASE)
        assert len(got) == 1, "one in flight per integration"
        seen.append(got[0].document_id)
        assert claim(app.engine, "w2", 10, LEASE) == []
        outcomes.finish(app.engine, got[0], OK, SCHEDULE)
    assert seen == docs


def test_an_ordered_integration_waits_behind_a_retrying_head(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, ordered=True)
    approve_invoices(app, two_targets, shared_data, 2)
    [head] = claim(app.engine, "w", 10, LEASE)
    slow = RetrySchedule(delays=(60,), jitter=0)
    outcomes.finish(app.engine, head, Outcome(False, error_class=ErrorClass.TRANSIENT), slow)
    assert claim(app.engine, "w", 10, LEASE) == [], "the second may not overtake the first"


def test_bulk_retry_previews_then_retries(app: App, two_targets: Firm, shared_data: Path) -> None:
    from passeur.storage.repositories.exports import ExportFilter

    approve_invoices(app, two_targets, shared_data, 2, client=0)
    approve_invoices(app, two_targets, shared_data, 1, client=1)
    reject = Outcome(False, error_class=ErrorClass.REJECTED, message="400")
    for c in claim(app.engine, "w", 10, LEASE):
        outcomes.finish(app.engine, c, reject, SCHEDULE)
    only_first = ExportFilter(client_id=two_targets.clients[0].id)
    pid = two_targets.partner_id
    assert exports.retry_matching(app, pid, only_first, confirm=False) == 2
    states = {r["export"].state for r in exports.list_exports(app, pid)}
    assert states == {ExportState.FAILED}, "a preview changes nothing"
    assert exports.retry_matching(app, pid, only_first, confirm=True) == 2
    by_client = {(r["client_id"], r["export"].state) for r in exports.list_exports(app, pid)}
    assert by_client == {
        (two_targets.clients[0].id, ExportState.PENDING),
        (two_targets.clients[1].id, ExportState.FAILED),
    }
    rejected = ExportFilter(error_class=ErrorClass.REJECTED)
    assert exports.retry_matching(app, pid, rejected, confirm=False) == 1


def test_a_full_target_at_the_head_of_the_queue_does_not_starve_the_others(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, pacing=Pacing(max_concurrent=1))
    approve_invoices(app, two_targets, shared_data, 6, client=0)  # due first
    [other_doc] = approve_invoices(app, two_targets, shared_data, 1, client=1)
    [busy] = claim(app.engine, "w1", 1, LEASE)  # the first target is now full
    [next_one] = claim(app.engine, "w2", 1, LEASE)
    assert next_one.document_id == other_doc
    assert next_one.installation_id != busy.installation_id


def test_a_claim_says_when_full_targets_left_due_exports_behind(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(monkeypatch, pacing=Pacing(max_concurrent=2))
    with transaction(app.engine) as conn:
        assert claim_in(conn, "w1", 10, LEASE) == Claimed([], throttled=False)  # nothing due
    approve_invoices(app, two_targets, shared_data, 3, client=0)
    approve_invoices(app, two_targets, shared_data, 1, client=1)
    with transaction(app.engine) as conn:
        first = claim_in(conn, "w1", 10, LEASE)
    assert len(first.claims) == 3 and first.throttled  # one export waits for room
    with transaction(app.engine) as conn:
        second = claim_in(conn, "w2", 10, LEASE)
    assert second == Claimed([], throttled=True)
    outcomes.finish(app.engine, first.claims[0], OK, SCHEDULE)
    with transaction(app.engine) as conn:
        third = claim_in(conn, "w2", 10, LEASE)
    assert len(third.claims) == 1 and not third.throttled  # all that was due fitted


def test_a_trip_wakes_other_workers_only_when_room_may_be_left_for_them(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded tries free room. A trip that claims next wakes the other workers only
    when exports may still wait for that room: not after a throttled claim (it took the
    room back itself), not after a claim that took every due export (nothing waits); yes
    after a claim that filled its batch, and after a trip only to record."""
    declare(monkeypatch, pacing=Pacing(max_concurrent=2))
    approve_invoices(app, two_targets, shared_data, 5, client=0)
    wakes: list[int] = []
    monkeypatch.setattr(wakeups, "notify", lambda conn: wakes.append(1))
    worker = Worker(app, concurrency=8)
    _, first, throttled, _ = worker._trip([], 8)
    assert len(first) == 2 and throttled and wakes == []  # nothing recorded, nothing to tell
    _, second, throttled, _ = worker._trip([_Finished(first[0], OK, None, 0.0)], 8)
    assert len(second) == 1 and throttled and wakes == []  # the freed room went to it
    done = [_Finished(c, OK, None, 0.0) for c in (first[1], *second)]
    _, third, throttled, _ = worker._trip(done, 1)
    assert len(third) == 1 and not throttled and wakes == [1]  # its batch was full: more due
    _, fourth, throttled, _ = worker._trip([_Finished(third[0], OK, None, 0.0)], 8)
    assert len(fourth) == 1 and not throttled and wakes == [1]  # it took all there was
    worker._trip([_Finished(fourth[0], OK, None, 0.0)], 0)  # a trip only to record
    assert wakes == [1, 1]


def test_a_claimed_batch_that_cannot_be_loaded_is_left_to_its_leases(
    app: App, two_targets: Firm, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim commits before the batch is loaded. If loading fails (the database went
    away), the tries recorded in that trip stay recorded once, and the claimed exports
    are not delivered by this worker: their leases run out and they are taken over, as
    after a crash, without a try counted against them."""
    approve_invoices(app, two_targets, shared_data, 3, client=0)
    worker = Worker(app, concurrency=8)
    _, [first], _, _ = worker._trip([], 1)

    def gone(*_: object) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(worker._loader, "load", gone)
    kept, got, _, jobs = worker._trip([_Finished(first, OK, None, 0.0)], 8)
    assert (kept, got, jobs) == ([True], [], {})
    rows = exports.list_exports(app, two_targets.partner_id)
    states = sorted(row["export"].state for row in rows)
    assert states == [ExportState.DELIVERED, ExportState.RUNNING, ExportState.RUNNING]
    later = utcnow() + LEASE + timedelta(seconds=1)
    monkeypatch.setattr("passeur.delivery.claims.utcnow", lambda: later)
    with transaction(app.engine) as conn:
        taken = claim_in(conn, "w2", 8, LEASE).claims
    assert len(taken) == 2 and all(c.attempt - c.schedule_base == 1 for c in taken)
