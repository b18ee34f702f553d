"""feed_profile: where one pull -> download -> ack cycle of the REST API's feed spends its
time, per kind of request (on SQLite, one reader, requests one after another in process
so the process's CPU time is the request's).

For each kind (pull a page, download a file, acknowledge the page; the pull with its
files inline) it reports per request: wall time, CPU time (time.process_time), SQL time
and statements (SQLAlchemy's before/after_cursor_execute; the token lookup and the rate
count are statements of every request), and the blob bytes read.

    python -m bench.feed_profile [--documents 200] [--page 50]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

from bench.feed_rate import SIZE
from bench.harness import make_app, save
from bench.population import held_exports, release
from passeur.bootstrap import App
from passeur.formats.corpus import make_padded_pdf
from passeur.services import api_clients
from passeur.web.app import create

Costs = dict[str, list[dict[str, float]]]


class Meter:
    """SQL time and statements of the engine, read around each request."""

    def __init__(self, app: App) -> None:
        self.sql = 0.0
        self.statements = 0
        self._started: list[float] = []
        event.listen(app.engine, "before_cursor_execute", self._before)
        event.listen(app.engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *_args: Any) -> None:
        self.sql += time.perf_counter() - self._started.pop()
        self.statements += 1

    @contextmanager
    def request(self, costs: Costs, kind: str) -> Iterator[None]:
        sql, statements = self.sql, self.statements
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        costs[kind].append(
            {
                "wall_ms": (time.perf_counter() - wall) * 1000,
                "cpu_ms": (time.process_time() - cpu) * 1000,
                "sql_ms": (self.sql - sql) * 1000,
                "statements": self.statements - statements,
            }
        )


def profile(folder: Path, documents: int, page: int, inline: bool) -> Costs:
    app = make_app(folder, api_rate_limit=10_000_000)
    costs: Costs = defaultdict(list)
    try:
        payloads = [make_padded_pdf(SIZE, seed=n) for n in range(documents)]
        held = held_exports(app, "api", {"lease_minutes": 10}, payloads)
        made, _ = api_clients.create(app, held.partner_id, "reader", "feeds:read feeds:write")
        token = api_clients.create_personal_token(app, held.partner_id, made.id, "bench").token
        release(app, held)
        meter = Meter(app)
        feed = f"/api/v1/feeds/{held.integration_id}"
        params = {"limit": page, "inline_max_bytes": 1024 * 1024 if inline else 0}
        pull = "pull (inline)" if inline else "pull"
        with TestClient(create(app), headers={"authorization": f"Bearer {token}"}) as api:
            api.get("/api/v1/feeds/0/items")  # warm up the app (401 or 404)
            while True:
                with meter.request(costs, pull):
                    items = api.get(f"{feed}/items", params=params).raise_for_status().json()
                if not items["items"]:
                    break
                for item in items["items"]:
                    for f in item["files"]:
                        if f["content_base64"] is not None:
                            data = base64.b64decode(f["content_base64"])
                        else:
                            with meter.request(costs, "download"):
                                data = api.get(f["href"]).raise_for_status().content
                        if hashlib.sha256(data).hexdigest() != f["sha256"]:
                            raise RuntimeError(f"item {item['id']} does not match")
                ids = [item["id"] for item in items["items"]]
                with meter.request(costs, "ack page"):
                    api.post(f"{feed}/acks", json={"ids": ids}).raise_for_status()
    finally:
        app.close()
    return costs


def summary(costs: Costs) -> dict[str, dict[str, float]]:
    return {
        kind: {k: statistics.median(r[k] for r in rows) for k in rows[0]} | {"n": len(rows)}
        for kind, rows in costs.items()
    }


def run(documents: int = 200, page: int = 50) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        links = summary(profile(Path(tmp) / "links", documents, page, inline=False))
        inline = summary(profile(Path(tmp) / "inline", documents, page, inline=True))
    return {"links": links, "inline": inline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--page", type=int, default=50)
    args = parser.parse_args()
    figures = run(args.documents, args.page)
    for way, kinds in figures.items():
        print(f"{way}: medians per request")
        for kind, m in kinds.items():
            print(
                f"  {kind:14} n={m['n']:4.0f} wall {m['wall_ms']:6.2f} ms  cpu "
                f"{m['cpu_ms']:6.2f} ms  sql {m['sql_ms']:5.2f} ms in "
                f"{m['statements']:3.0f} statements"
            )
    save("feed_profile", figures)


if __name__ == "__main__":
    main()
