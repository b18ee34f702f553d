"""api_speed: the REST API's read endpoints for a firm with 1,000 clients, 200,000
documents and 1,000,000 exports on PostgreSQL, against /health in the same run (issue 13).
Each request goes through the web app in process (no network) with a bearer token, so it
pays for the token lookup and the rate-limit count like any API request; p99 of ROUNDS
requests after a warm-up. The median time spent in SQL per request (SQLAlchemy's
before/after_cursor_execute) is reported beside it, to tell the database's share from
Python's.

The feed page is an API integration of one client with FEED_ITEMS items on its feed (and
a file each); every pull leases its page, so each request reads the next FEED_LIMIT items.

    python -m bench.api_speed [--clients 1000] [--documents 200000] [--exports 1000000]

Target: p99 <= 50 ms for each read endpoint. The rows are made by bulk SQL
(bench/page_speed.py's fill), then VACUUM ANALYZE, as autovacuum would have done.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from starlette.testclient import TestClient

from bench.harness import make_app, postgres_database, save
from bench.page_speed import fill
from passeur.bootstrap import App
from passeur.services import api_clients, installations, integrations, partners
from passeur.web.app import create, settle

ROUNDS = 300
WARM_UP = 5
FEED_LIMIT = 10
FEED_ITEMS = (ROUNDS + WARM_UP) * FEED_LIMIT


class SqlClock:
    """Time spent in the database driver, per request."""

    def __init__(self, engine: Engine) -> None:
        self.seconds = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, *_args: Any) -> None:
        self.seconds += time.perf_counter() - conn.info.pop("bench_started")


def timed(
    http: TestClient, url: str, headers: dict[str, str], sql: SqlClock
) -> tuple[float, float]:
    """(p99 of the request, median SQL time per request), in seconds."""
    for _ in range(WARM_UP):  # plans, caches
        assert http.get(url, headers=headers).status_code == 200, url
    samples, in_sql = [], []
    for _ in range(ROUNDS):
        sql.seconds = 0.0
        start = time.perf_counter()
        answer = http.get(url, headers=headers)
        samples.append(time.perf_counter() - start)
        in_sql.append(sql.seconds)
        assert answer.status_code == 200, (url, answer.text[:200])
    return statistics.quantiles(samples, n=100)[-1], statistics.median(in_sql)


def feed(app: App, partner_id: int, client_id: int) -> int:
    """An API integration of the client with FEED_ITEMS items on its feed (its documents,
    in as many versions as needed), each document with one file."""
    installation = installations.install(app, partner_id, "api", "Feed", {})
    integration = integrations.add(app, partner_id, client_id, installation.id, {}).id
    p = {"p": partner_id, "c": client_id, "i": integration, "n": FEED_ITEMS,
         "inst": installation.id}  # fmt: skip
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO document_files (document_id, role, filename, media_type, sha256, "
                "size) SELECT id, 'original', 'x.xml', 'application/xml', repeat('0', 64), 1 "
                "FROM documents WHERE client_id = :c"
            ),
            p,
        )
        made = conn.execute(
            text(
                "INSERT INTO exports (partner_id, document_id, integration_id, "
                "installation_id, version, state, attempts, schedule_base, lease_owner, "
                "last_error, created_at, updated_at) SELECT :p, d.id, :i, :inst, v, "
                "'on_feed', 0, 0, '', '', now(), now() FROM documents AS d, "
                "generate_series(1, 1000) AS v WHERE d.client_id = :c ORDER BY v, d.id LIMIT :n"
            ),
            p,
        )
        assert made.rowcount == FEED_ITEMS, "the client has too few documents for the feed"
    return integration


def endpoints(client_id: int, feed_id: int) -> dict[str, str]:
    return {
        "health": "/health",
        "clients": "/api/v1/clients?limit=50",
        "exports_failed": "/api/v1/exports?state=failed&limit=50",
        "exports_of_a_client": f"/api/v1/exports?client_id={client_id}&limit=50",
        "feed_page": f"/api/v1/feeds/{feed_id}/items?limit={FEED_LIMIT}",
    }


def run(clients: int, documents: int, exports: int) -> dict[str, Any]:
    with postgres_database() as url, tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), url, api_rate_limit=10_000_000)
        try:
            firm = partners.create_partner(app, "Big firm").id
            started = time.perf_counter()
            client = fill(app, firm, clients, documents, exports, first=1_000_000)
            feed_id = feed(app, firm, client)
            filled = time.perf_counter() - started
            # As autovacuum would have: statistics, and the visibility map that index-only
            # scans need (bench/page_speed.py does the same).
            with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            made, _ = api_clients.create(app, firm, "bench", "all")
            token = api_clients.create_personal_token(app, firm, made.id, "bench").token
            headers = {"authorization": f"Bearer {token}"}
            http = TestClient(create(app))
            sql = SqlClock(app.engine)
            settle()  # as `passeur serve` does once its app is built
            figures: dict[str, Any] = {"api_speed_exports": exports, "api_fill_seconds": filled}
            for name, path in endpoints(client, feed_id).items():
                p99, in_sql = timed(http, path, headers, sql)
                figures[f"api_p99_ms_{name}"] = p99 * 1000
                figures[f"api_sql_median_ms_{name}"] = in_sql * 1000
            for name in endpoints(0, 0):
                figures[f"api_ratio_{name}"] = (
                    figures[f"api_p99_ms_{name}"] / figures["api_p99_ms_health"]
                )
            return figures
        finally:
            app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--exports", type=int, default=1_000_000)
    args = parser.parse_args()
    figures = run(args.clients, args.documents, args.exports)
    print(f"filled {args.exports:,} exports in {figures['api_fill_seconds']:.1f} s")
    for name in endpoints(0, 0):
        ms, ratio = figures[f"api_p99_ms_{name}"], figures[f"api_ratio_{name}"]
        in_sql = figures[f"api_sql_median_ms_{name}"]
        print(
            f"{name}: p99 {ms:.1f} ms (target <= 50), {ratio:.1f}x /health; "
            f"median {in_sql:.1f} ms in SQL"
        )
    save("api_speed", figures)


if __name__ == "__main__":
    main()
