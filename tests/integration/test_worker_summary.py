"""What `worker --drain` says it leaves behind: exports still waiting and the next due."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from passeur.bootstrap import App
from passeur.cli.main import left_behind
from passeur.domain.exports import ExportState
from passeur.services import exports
from passeur.storage.repositories.exports import Queue
from tests.web.practice import practice, set_export

NOW = datetime(2026, 12, 1, 12, 0, 0)


def test_the_queue_counts_waiting_exports_and_their_next_due(app: App, shared_data: Path) -> None:
    made = practice(app, shared_data, n_clients=3)
    first, second, third = made.exports
    set_export(app, first, state=ExportState.RETRYING.value, due_at=NOW + timedelta(minutes=5))
    set_export(app, second, state=ExportState.RETRYING.value, due_at=NOW + timedelta(hours=2))
    set_export(app, third, state=ExportState.DELIVERED.value, due_at=None)
    assert exports.queue(app) == Queue(pending=0, retrying=2, next_due=NOW + timedelta(minutes=5))
    set_export(app, third, state=ExportState.PENDING.value, due_at=NOW + timedelta(seconds=1))
    assert exports.queue(app) == Queue(pending=1, retrying=2, next_due=NOW + timedelta(seconds=1))


def test_the_summary_says_how_many_wait_and_when_the_next_is_due() -> None:
    assert left_behind(Queue(0, 0, None), NOW) == "no export waiting"
    soon = Queue(pending=1, retrying=2, next_due=NOW + timedelta(minutes=4, seconds=10))
    assert left_behind(soon, NOW) == (
        "3 export(s) still waiting (1 pending, 2 retrying), "
        "the next due at 2026-12-01 12:04:10 UTC (in 4m 10s)"
    )
    overdue = Queue(pending=1, retrying=0, next_due=NOW - timedelta(seconds=3))
    assert left_behind(overdue, NOW).endswith("the next due at 2026-12-01 12:00:00 UTC")
