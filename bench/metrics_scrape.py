"""metrics_scrape: the time of a Prometheus scrape of `/metrics` with 1,000,000 exports on
PostgreSQL (page_speed's fill: 1,000 clients, 200,000 documents, exports mostly delivered,
1 % failed, 1 % retrying), against `/health` in the same run and the same app (issue 18).
Server-side, through the ASGI app in process; p95 of ROUNDS asks after a warm-up.

    python -m bench.metrics_scrape [--exports 1000000]

Target: p95 <= 50 ms (the scrape must not count the table). The ratio to /health says
what the ledger's figures cost over a request that reads nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from bench.harness import make_app, postgres_database, save
from bench.page_speed import fill
from passeur.services import partners
from passeur.web.app import create, settle

ROUNDS = 60


def p95(browser: TestClient, url: str) -> float:
    for _ in range(5):  # warm-up: plans, caches
        assert browser.get(url).status_code == 200, url
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = browser.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, url
    return statistics.quantiles(samples, n=20)[-1]


def run(clients: int, documents: int, exports: int) -> dict[str, Any]:
    with postgres_database() as url, tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), url)
        try:
            partner = partners.create_partner(app, "Big firm").id
            fill(app, partner, clients, documents, exports, first=1_000_000)
            # What autovacuum does after a million inserts: statistics and a visibility map.
            with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            browser = TestClient(create(app))
            settle()
            scrape = browser.get("/metrics").text
            delivered = next(
                float(line.split()[-1])
                for line in scrape.splitlines()
                if line.startswith('passeur_exports{state="delivered"}')
            )
            metrics_ms = p95(browser, "/metrics") * 1000
            health_ms = p95(browser, "/health") * 1000
            return {
                "metrics_scrape_exports": exports,
                "metrics_scrape_p95_ms": metrics_ms,
                "metrics_health_p95_ms": health_ms,
                "metrics_scrape_ratio_to_health": metrics_ms / health_ms,
                # The estimate of delivered exports over the true number (98 % of the fill).
                "metrics_delivered_estimate_ratio": delivered / (exports * 0.98),
            }
        finally:
            app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--exports", type=int, default=1_000_000)
    args = parser.parse_args()
    figures = run(args.clients, args.documents, args.exports)
    print(
        f"/metrics p95 {figures['metrics_scrape_p95_ms']:.1f} ms with {args.exports:,} "
        f"exports (target <= 50); /health p95 {figures['metrics_health_p95_ms']:.2f} ms: "
        f"ratio {figures['metrics_scrape_ratio_to_health']:.1f}; delivered estimate / true "
        f"{figures['metrics_delivered_estimate_ratio']:.3f}"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
