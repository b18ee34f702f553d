"""api_speed: the REST API's read endpoints for a firm with 1,000 clients, 200,000
documents and 1,000,000 exports on PostgreSQL, against /health in the same run (issue 13).
Each request goes through the web app in process (no network) with a bearer token, so it
pays for the token lookup and the rate-limit count like any API request; p99 of ROUNDS
requests after a warm-up.

    python -m bench.api_speed [--clients 1000] [--documents 200000] [--exports 1000000]

Target: p99 <= 50 ms for each read endpoint. The rows are made by bulk SQL
(bench/page_speed.py's fill), a few seconds for a million exports.
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
from passeur.services import api_clients, partners
from passeur.web.app import create, settle

ROUNDS = 300


def p99(http: TestClient, url: str, headers: dict[str, str]) -> float:
    for _ in range(5):  # warm-up: plans, caches
        assert http.get(url, headers=headers).status_code == 200, url
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        answer = http.get(url, headers=headers)
        samples.append(time.perf_counter() - start)
        assert answer.status_code == 200, (url, answer.text[:200])
    return statistics.quantiles(samples, n=100)[-1]


def endpoints(client_id: int) -> dict[str, str]:
    return {
        "health": "/health",
        "clients": "/api/v1/clients?limit=50",
        "exports_failed": "/api/v1/exports?state=failed&limit=50",
        "exports_of_a_client": f"/api/v1/exports?client_id={client_id}&limit=50",
    }


def run(clients: int, documents: int, exports: int) -> dict[str, Any]:
    with postgres_database() as url, tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), url, api_rate_limit=10_000_000)
        try:
            firm = partners.create_partner(app, "Big firm").id
            started = time.perf_counter()
            client = fill(app, firm, clients, documents, exports, first=1_000_000)
            filled = time.perf_counter() - started
            with app.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
            made, _ = api_clients.create(app, firm, "bench", "all")
            token = api_clients.create_personal_token(app, firm, made.id, "bench").token
            headers = {"authorization": f"Bearer {token}"}
            http = TestClient(create(app))
            settle()  # as `passeur serve` does once its app is built
            figures: dict[str, Any] = {"api_speed_exports": exports, "api_fill_seconds": filled}
            for name, path in endpoints(client).items():
                figures[f"api_p99_ms_{name}"] = p99(http, path, headers) * 1000
            for name in endpoints(client):
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
    for name in endpoints(0):
        ms, ratio = figures[f"api_p99_ms_{name}"], figures[f"api_ratio_{name}"]
        print(f"{name}: p99 {ms:.1f} ms (target <= 50), {ratio:.1f}x /health")
    save("bench", figures)


if __name__ == "__main__":
    main()
