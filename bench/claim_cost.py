"""claim_cost_ratio: the cost of one claim with 1,000,000 exports in the table, against
10,000 (PostgreSQL). The due set is the same size in both; only history grows.

    python -m bench.claim_cost [--big 1000000] [--small 10000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from bench.harness import make_app, postgres_database, save
from passeur.bootstrap import App
from passeur.delivery.claims import claim
from passeur.storage.db import transaction

DUE = 2_000
BATCH = 20
ROUNDS = 300


TARGETS = 10  # installations: pacing caps each one at a few tries in flight


def fill(app: App, total: int) -> None:
    """One partner, client and document, TARGETS installations each added to the client, and
    `total` exports of the document spread over them, all delivered but DUE of them."""
    with transaction(app.engine) as conn:
        conn.execute(text("INSERT INTO partners (id, name, created_at) VALUES (1, 'B', now())"))
        conn.execute(
            text(
                "INSERT INTO clients (id, partner_id, name, status, created_at, updated_at) "
                "VALUES (1, 1, 'C', 'active', now(), now())"
            )
        )
        conn.execute(
            text(
                "INSERT INTO installations (id, partner_id, extension, name, config, secrets, "
                "active, created_at, updated_at) SELECT i, 1, 'sftp', 'S', '{}', '', true, "
                "now(), now() FROM generate_series(1, :n) AS i"
            ),
            {"n": TARGETS},
        )
        conn.execute(
            text("INSERT INTO pacing (installation_id) SELECT generate_series(1, :n)"),
            {"n": TARGETS},
        )
        conn.execute(
            text(
                "INSERT INTO integrations (id, partner_id, client_id, installation_id, config, "
                "secrets, status, status_reason, activated_at, created_at, updated_at) SELECT "
                "i, 1, 1, i, '{}', '', 'active', '', now(), now(), now() "
                "FROM generate_series(1, :n) AS i"
            ),
            {"n": TARGETS},
        )
        conn.execute(
            text(
                "INSERT INTO documents (id, partner_id, client_id, kind, filename, media_type, "
                "sha256, size, metadata, lifecycle, accounting_status, received_at, updated_at) "
                "VALUES (1, 1, 1, 'purchase_invoice', 'x.xml', 'application/xml', :sha, 1, "
                "'{}', 'approved', 'queued', now(), now())"
            ),
            {"sha": "0" * 64},
        )
        conn.execute(
            text(
                "INSERT INTO exports (partner_id, document_id, integration_id, installation_id, "
                "version, state, attempts, schedule_base, due_at, lease_owner, last_error, "
                "created_at, updated_at, delivered_at) "
                "SELECT 1, 1, 1 + v % :n, 1 + v % :n, v, "
                "CASE WHEN v <= :due THEN 'pending' ELSE 'delivered' END,"
                " 0, 0, CASE WHEN v <= :due THEN now() - interval '1 minute' END, '', '', "
                "now(), now(), CASE WHEN v > :due THEN now() END "
                "FROM generate_series(1, :total) AS v"
            ),
            {"due": DUE, "total": total, "n": TARGETS},
        )
    with app.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def measure(app: App) -> float:
    """Median seconds of one claim of BATCH exports (claimed rows are put back untimed)."""
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        got = claim(app.engine, "bench", BATCH, timedelta(minutes=5))
        samples.append(time.perf_counter() - start)
        assert len(got) == BATCH, "the due set ran dry"
        with transaction(app.engine) as conn:
            conn.execute(
                text(
                    "UPDATE exports SET state = 'pending', due_at = now() - interval '1 minute' "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": [c.export_id for c in got]},
            )
            conn.execute(text("DELETE FROM attempts"))
            conn.execute(text("UPDATE pacing SET minute_calls = 0, day_calls = 0"))
    return statistics.median(samples)


def run(big: int, small: int) -> dict[str, float]:
    medians = {}
    for total in (small, big):
        with postgres_database() as url, tempfile.TemporaryDirectory() as folder:
            app = make_app(Path(folder), url)
            try:
                fill(app, total)
                measure(app)  # warm-up
                medians[total] = measure(app)
            finally:
                app.close()
    return {
        "claim_cost_ratio": medians[big] / medians[small],
        "claim_ms_small_table": medians[small] * 1000,
        "claim_ms_big_table": medians[big] * 1000,
        "claim_table_rows": big,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    args = parser.parse_args()
    figures = run(args.big, args.small)
    print(
        f"claim of {BATCH}: {figures['claim_ms_small_table']:.2f} ms with {args.small:,} "
        f"exports, {figures['claim_ms_big_table']:.2f} ms with {args.big:,}: "
        f"ratio {figures['claim_cost_ratio']:.2f} (target <= 1.5)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
