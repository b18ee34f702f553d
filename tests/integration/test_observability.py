"""Metrics and logs of a real worker run against the HTTP receiver stand-in, on both
databases: the ledger's figures at the web app's /metrics and the worker's own counters
move when an export is delivered and when one fails; the log lines are JSON events with
the ids of the work and never a secret's value."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from passeur.bootstrap import App, build
from passeur.connectors.http.signing import new_secret
from passeur.delivery.worker import Worker
from passeur.monitoring import logs
from passeur.monitoring.exposition import serve_worker_metrics
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.services import installations, integrations
from passeur.storage import schema
from passeur.web.app import create
from tests.clock import LedgerClock
from tests.conftest import make_settings
from tests.factories import approve_invoices, firm

SIGNING = new_secret()
TOKEN = "MARKER-bearer-token-5e1f0c"  # a declared secret field of the http extension


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    settings = make_settings(tmp_path / "data", database_url, allowed_networks="127.0.0.0/8")
    built = build(settings)
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    yield built
    built.close()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    runner = ThreadedHttpReceiver(HttpReceiver(SIGNING))
    yield runner.start()
    runner.stop()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    logs.configure("json", stream=out)
    yield out
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "passeur", False)]
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def drain(app: App) -> None:
    asyncio.run(Worker(app, concurrency=2).run(asyncio.Event(), drain=True))


def tries(figures: dict, outcome: str) -> float:  # type: ignore[type-arg]
    key = (
        "passeur_attempt_duration_seconds_count",
        (("extension", "http"), ("outcome", outcome)),
    )
    return float(figures.get(key, 0.0))


def test_metrics_move_on_delivery_and_failure_and_logs_name_the_work(
    app: App,
    receiver: HttpReceiver,
    shared_data: Path,
    clock: LedgerClock,
    log_lines: io.StringIO,
) -> None:
    web = TestClient(create(app))
    exports_in = lambda figures, state: figures[("passeur_exports", (("state", state),))]  # noqa: E731
    depth = ("passeur_ledger_depth", ())
    oldest = ("passeur_ledger_oldest_due_age_seconds", ())
    before = scrape(web.get("/metrics").text)
    assert exports_in(before, "delivered") == 0 and before[depth] == 0 and before[oldest] == 0

    f = firm(app, n_clients=1)
    values = {
        "base_url": receiver.url,
        "allow_plain_http": "yes",
        "signing_secret": SIGNING,
        "auth": "bearer",
        "token": TOKEN,
        "path": "/[external_id]/[invoice_type]",
    }
    inst = installations.install(app, f.partner_id, "http", "ERP", values)
    integration = integrations.add(app, f.partner_id, f.clients[0].id, inst.id, {})
    approve_invoices(app, f, shared_data, 2)
    clock.advance(timedelta(seconds=30))  # they have been due for half a minute
    waiting = scrape(web.get("/metrics").text)
    assert exports_in(waiting, "pending") == 2 and waiting[depth] == 2
    assert waiting[oldest] >= 30

    drain(app)
    delivered = scrape(web.get("/metrics").text)
    assert exports_in(delivered, "delivered") == 2 and delivered[depth] == 0
    assert delivered[oldest] == 0
    assert tries(delivered, "delivered") == tries(before, "delivered") + 2

    receiver.faults.status = 410  # the endpoint is gone, and echoes what it was sent
    receiver.faults.body = f"gone; you sent Bearer {TOKEN} and {SIGNING}"
    approve_invoices(app, f, shared_data, 1)
    drain(app)
    failed = scrape(web.get("/metrics").text)
    assert exports_in(failed, "failed") == 1 and exports_in(failed, "delivered") == 2
    assert tries(failed, "gone") == tries(before, "gone") + 1
    assert tries(failed, "delivered") == tries(delivered, "delivered")
    latency = ("passeur_web_request_duration_seconds_count",
               (("method", "GET"), ("route", "/metrics"), ("status", "2xx")))  # fmt: skip
    assert failed[latency] > delivered[latency] > 0

    text = log_lines.getvalue()
    assert TOKEN not in text and SIGNING not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON event
    finished = [e for e in lines if e["event"] == "try finished"]
    assert sorted(e["outcome"] for e in finished) == ["delivered", "delivered", "gone"]
    for event in finished:
        assert event["partner_id"] == f.partner_id
        assert event["client_id"] == f.clients[0].id
        assert event["integration_id"] == integration.id
        assert event["attempt"] == 1 and isinstance(event["export_id"], int)
    [refused] = [e for e in lines if "gone" in str(e["event"]) and e["level"] == "info"
                 and e["event"] != "try finished"]  # fmt: skip
    [gone] = [e for e in finished if e["outcome"] == "gone"]
    assert refused["export_id"] == gone["export_id"]
    assert "***" in str(refused["event"])


def test_a_worker_serves_its_own_counters_on_its_metrics_port() -> None:
    server = serve_worker_metrics("127.0.0.1", 0)
    try:
        host, port = server.server_address[:2]
        with urllib.request.urlopen(f"http://{host!s}:{port}/metrics", timeout=5) as answer:
            names = {f.name for f in text_string_to_metric_families(answer.read().decode())}
    finally:
        server.shutdown()
    assert {"passeur_attempt_duration_seconds", "passeur_token_refreshes"} <= names
    assert "passeur_exports" not in names, "the ledger's figures come from a web process"
