"""page_speed: the partner space's busiest pages with 1,000 clients, 200,000 documents and
1,000,000 exports on PostgreSQL, against the same pages of a partner with 10 clients in
the same database and the same run (issue 14). Server-side: each page is asked through
the ASGI app in process (no network), signed in as an administrator; p95 of ROUNDS asks
after a warm-up.

    python -m bench.page_speed [--clients 1000] [--documents 200000] [--exports 1000000]

Targets: p95 <= 150 ms for each page of the big partner, and big / small <= 2.
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
from passeur.bootstrap import App
from passeur.domain.partners import Role
from passeur.services import partners, sessions
from passeur.web.app import create, settle
from passeur.web.visitors import SESSION_COOKIE

ROUNDS = 40
SMALL_CLIENTS = 10
INTEGRATIONS_PER_CLIENT = 2


def fill(app: App, partner_id: int, clients: int, docs: int, exports: int, first: int) -> int:
    """A partner's clients (ids from `first`), each with INTEGRATIONS_PER_CLIENT
    integrations of two installations; documents spread over the clients; exports spread
    over the documents' integrations, mostly delivered, some failed, some waiting; one
    created a second apart, going back in time, each delivered a second after it was made.
    Returns the id of its first client."""
    p = {"p": partner_id, "c": clients, "d": docs, "e": exports, "f": first}
    statements = [
        "INSERT INTO installations (id, partner_id, extension, name, config, secrets, active, "
        "created_at, updated_at) SELECT :f + i, :p, 'sftp', 'SFTP ' || i, '{}', '', true, "
        "now(), now() FROM generate_series(0, 1) AS i",
        "INSERT INTO pacing (installation_id) SELECT :f + i FROM generate_series(0, 1) AS i",
        "INSERT INTO clients (id, partner_id, name, uen_number, external_ref, status, "
        "created_at, updated_at) SELECT :f + i, :p, 'Client ' || lpad(i::text, 5, '0'), '', "
        "'C' || i, 'active', now(), now() FROM generate_series(0, :c - 1) AS i",
        "INSERT INTO integrations (id, partner_id, client_id, installation_id, config, secrets, "
        "status, status_reason, activated_at, created_at, updated_at) SELECT :f + i, :p, "
        ":f + i / 2, :f + i % 2, '{}', '', 'active', '', now(), now(), now() "
        "FROM generate_series(0, 2 * :c - 1) AS i",
        "INSERT INTO documents (id, partner_id, client_id, kind, filename, media_type, sha256, "
        "size, number, issue_date, metadata, lifecycle, accounting_status, received_at, "
        "released_at, updated_at) SELECT CAST(:f AS bigint) * 1000 + i, :p, :f + i % :c, "
        "'purchase_invoice', 'x.xml', 'application/xml', repeat('0', 64), 1, 'INV-' || i, "
        "'2026-01-01', '{}', 'approved', 'ready_to_process', now(), now(), now() "
        "FROM generate_series(0, :d - 1) AS i",
        "INSERT INTO exports (partner_id, document_id, integration_id, installation_id, "
        "version, state, attempts, schedule_base, due_at, lease_owner, last_error, created_at, "
        "updated_at, delivered_at) SELECT :p, CAST(:f AS bigint) * 1000 + v % :d, "
        ":f + 2 * ((v % :d) % :c) + (v / :d) % 2, :f + (v / :d) % 2, 1 + v / (2 * :d), "
        "CASE WHEN v % 100 = 0 THEN 'failed' WHEN v % 100 = 1 THEN 'retrying' "
        "ELSE 'delivered' END, 1, 0, NULL, '', CASE WHEN v % 100 = 0 THEN 'rejected' "
        "ELSE '' END, now() - (v || ' seconds')::interval, "
        "now() - (v || ' seconds')::interval + interval '1 second', "
        "CASE WHEN v % 100 > 1 THEN now() - (v || ' seconds')::interval + interval '1 second' "
        "END FROM generate_series(0, :e - 1) AS v",
    ]
    with app.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), p)
    return first


def _person(app: App, partner_id: int, email: str) -> TestClient:
    """An administrator's browser, signed in (a session made by the service itself)."""
    password = "bench password of the administrator"
    partners.add_user(app, partner_id, email, "Bench", {Role.ADMINISTRATOR})
    sessions.set_password(app, email, password)
    signed = sessions.sign_in(app, email, password, "127.0.0.1")
    browser = TestClient(create(app), follow_redirects=False)  # a sign-in redirect fails
    browser.cookies.set(SESSION_COOKIE, signed.token)
    return browser


def p95(browser: TestClient, url: str) -> float:
    for _ in range(3):  # warm-up: plans, caches
        assert browser.get(url).status_code == 200, url
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = browser.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, url
    return statistics.quantiles(samples, n=20)[-1]


def pages(client_id: int) -> dict[str, str]:
    return {
        "home": "/",
        "clients": "/clients",
        "integrations_tab": f"/clients/{client_id}/integrations",
        "exports_filtered": "/exports?state=failed",
    }


def run(clients: int, documents: int, exports: int) -> dict[str, Any]:
    with postgres_database() as url, tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), url)
        try:
            big = partners.create_partner(app, "Big firm").id
            small = partners.create_partner(app, "Small firm").id
            ratio = SMALL_CLIENTS / clients
            big_client = fill(app, big, clients, documents, exports, first=1_000_000)
            small_client = fill(
                app, small, SMALL_CLIENTS, max(int(documents * ratio), SMALL_CLIENTS),
                max(int(exports * ratio), SMALL_CLIENTS), first=9_000_000,
            )  # fmt: skip
            # What autovacuum does to a table after a million inserts (its insert threshold,
            # PostgreSQL 13+): statistics, and a visibility map, without which every count
            # along an index visits the table's pages too.
            with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            browsers = {
                "big": (_person(app, big, "big@bench.be"), big_client),
                "small": (_person(app, small, "small@bench.be"), small_client),
            }
            settle()  # as `passeur serve` does once its app is built
            figures: dict[str, Any] = {"page_speed_clients": clients}
            for name in pages(0):
                ms = {
                    size: p95(b, pages(client)[name]) * 1000
                    for size, (b, client) in browsers.items()
                }
                figures[f"page_p95_ms_{name}"] = ms["big"]
                figures[f"page_p95_ms_{name}_10_clients"] = ms["small"]
                figures[f"page_ratio_{name}"] = ms["big"] / ms["small"]
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
    for name in pages(0):
        big, small = figures[f"page_p95_ms_{name}"], figures[f"page_p95_ms_{name}_10_clients"]
        print(
            f"{name}: p95 {big:.1f} ms with {args.clients:,} clients (target <= 150), "
            f"{small:.1f} ms with {SMALL_CLIENTS}: ratio {figures[f'page_ratio_{name}']:.2f} "
            "(target <= 2)"
        )
    save("bench", figures)


if __name__ == "__main__":
    main()
