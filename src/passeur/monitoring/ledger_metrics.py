"""The ledger's figures, read from the database when Prometheus scrapes `/metrics`.

Every web process reads the same database, so any of them answers alike and nothing has
to be shared between processes or machines. A scrape never counts the exports table:

* Open exports (pending, retrying, running, held, needs attention) are few while things
  work; they are counted exactly along their partial index (`ix_exports_open_state`, an
  index-only scan). Should a backlog grow past
  EXACT_UP_TO, the planner's estimate is given instead (a count of millions of rows
  would make every scrape a slow query exactly when the database is busiest).
* Finished exports (delivered, cancelled, failed) grow without bound; on PostgreSQL,
  once the table is past SMALL_TABLE_PAGES, their number is the planner's estimate: the
  table's row count scaled to its current size (as the planner does) times each state's
  frequency in `pg_stats`, as fresh as autovacuum's last ANALYZE. SQLite keeps no such
  statistics: there they are counted (one machine, the embedded setup).
* The oldest due export is the first entry of the due index (`ix_exports_due`).

Measured with 1,000,000 exports on PostgreSQL in bench/metrics_scrape.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, text

from passeur.domain.clock import utcnow
from passeur.domain.exports import OPEN as OPEN_STATES
from passeur.domain.exports import ExportState
from passeur.storage.db import reading

EXACT_UP_TO = 100_000  # open exports counted exactly up to this estimate
SMALL_TABLE_PAGES = 1_000  # 8 MB, some 30,000 exports: counting them all is cheap
OPEN = tuple(s.value for s in OPEN_STATES)  # not final yet (domain/exports.py)
DEPTH = ("pending", "retrying", "running")  # on their way: what the workers still have to do
_IN_OPEN = ", ".join(f"'{s}'" for s in OPEN)

_OPEN_COUNTS = text(
    f"SELECT state, count(*) FROM exports WHERE state IN ({_IN_OPEN}) GROUP BY state"
)
_ALL_COUNTS = text("SELECT state, count(*) FROM exports GROUP BY state")
# The first entry of ix_exports_due (same predicate): an index lookup, not a scan.
_OLDEST_DUE = text(
    "SELECT min(due_at) FROM exports "
    "WHERE state IN ('pending', 'retrying', 'running') AND due_at <= :now"
)
# The planner's own estimate of the table's rows, scaled to its size now.
_PG_SIZE = text(
    "SELECT pg_relation_size(c.oid) / current_setting('block_size')::int, c.reltuples, "
    "c.relpages FROM pg_class c WHERE c.oid = to_regclass('exports')"
)
_PG_FREQUENCIES = text(
    "SELECT most_common_vals::text::text[], most_common_freqs FROM pg_stats "
    "WHERE schemaname = current_schema() AND tablename = 'exports' AND attname = 'state'"
)


STATISTICS_KEPT_SECONDS = 60.0  # pg_stats changes only at an ANALYZE; reading it costs ms


class LedgerCollector(Collector):
    """A Prometheus collector of the ledger's figures, read at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._frequencies: tuple[float, dict[str, float]] | None = None  # (read at, by state)

    def describe(self) -> list[Any]:
        return []  # nothing is read at registration: the database may not be there yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with reading(self.engine) as conn:
            counts = self._counts(conn)
            oldest = conn.execute(_OLDEST_DUE, {"now": now}).scalar()
        by_state = GaugeMetricFamily(
            "passeur_exports",
            "Exports by state (open states counted, finished ones estimated on PostgreSQL).",
            labels=["state"],
        )
        for state in ExportState:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "passeur_ledger_depth",
            "Exports the workers still have to deliver (pending, retrying, running).",
            value=sum(counts.get(s, 0) for s in DEPTH),
        )
        yield GaugeMetricFamily(
            "passeur_ledger_oldest_due_age_seconds",
            "How long the export due the longest has been waiting (0: none is due).",
            value=_age(oldest, now),
        )

    def _counts(self, conn: Connection) -> dict[str, float]:
        if conn.dialect.name != "postgresql":
            return {str(s): int(n) for s, n in conn.execute(_ALL_COUNTS)}
        pages, reltuples, relpages = conn.execute(_PG_SIZE).one()
        if pages <= SMALL_TABLE_PAGES:
            return {str(s): int(n) for s, n in conn.execute(_ALL_COUNTS)}
        # The planner's own estimate of the table's rows, scaled to its size now.
        rows = reltuples / relpages * pages if relpages > 0 and reltuples > 0 else 0.0
        estimated = {s: round(rows * f) for s, f in self._frequencies_of(conn).items()}
        if sum(estimated.get(s, 0.0) for s in OPEN) > EXACT_UP_TO:
            return estimated
        exact = {str(s): int(n) for s, n in conn.execute(_OPEN_COUNTS)}
        return {**{s: n for s, n in estimated.items() if s not in OPEN}, **exact}

    def _frequencies_of(self, conn: Connection) -> dict[str, float]:
        """Each state's share of the table, as the last ANALYZE found it."""
        now = time.monotonic()
        if self._frequencies is None or now - self._frequencies[0] > STATISTICS_KEPT_SECONDS:
            found = conn.execute(_PG_FREQUENCIES).first()
            shares: dict[str, float] = {}
            if found is not None and found[0] is not None:  # else: never analysed yet
                shares = {str(s): float(f) for s, f in zip(found[0], found[1], strict=True)}
            self._frequencies = (now, shares)
        return self._frequencies[1]


def _age(oldest: datetime | str | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite hands back an aggregate's datetime as text
        oldest = datetime.fromisoformat(oldest)
    return max(0.0, (now - oldest).total_seconds())
