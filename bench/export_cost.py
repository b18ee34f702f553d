"""Where one HTTP export's cost goes on PostgreSQL, measured in one process so that every
statement can be counted (SQLAlchemy's cursor events on the app's engine):

* the approval: documents approved one by one, no worker running (what `make bench`'s
  live mode asks of the client);
* the delivery: a worker in this process (`--drain`, 32 in flight) delivering them;
* live: the same worker running, idle, while a thread approves documents one by one (as
  `bench.peers`' live mode does); the worker's share only (the approving thread's
  statements and CPU are left out).

Per export: statements, transactions (each one psycopg opened and ended: a COMMIT or a
ROLLBACK, a pool's reset included), round trips (statements plus each transaction's BEGIN
and its end, which psycopg sends on their own), the CPU of this process and of the
database's backends, and the statements grouped by kind and table. No target: it says
where the next step is (docs/decisions.md).

    python -m bench.export_cost [--documents 300]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from bench.harness import make_app, postgres_database, save
from bench.http_throughput import http_values
from bench.peers import _backend_pids, _cpu_seconds
from bench.population import Waiting, waiting_documents
from bench.servers import http_receiver
from bench.workers import backends
from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.delivery.worker import Worker
from passeur.formats.corpus import make_padded_pdf
from passeur.services import documents

SCALARS = (
    "statements", "transactions", "round_trips", "process_cpu_ms", "postgres_cpu_ms", "wall_ms",
)  # fmt: skip
APPROVER = "bench-approver"
PHASES = ("approval", "delivery", "live")
WORD = re.compile(r"\b(FROM|INTO|UPDATE|JOIN)\s+\"?(\w+)", re.IGNORECASE)


class Counter:
    """Statements, transactions and their kinds on one engine, between start and stop."""

    def __init__(self, engine: Engine) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.transactions = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._ended)
        event.listen(engine, "rollback", self._ended)
        event.listen(engine.pool, "reset", self._reset)

    def _counts(self) -> bool:
        return self.on and threading.current_thread().name != APPROVER

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self._counts():
            verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            table = WORD.search(statement)
            self.kinds[f"{verb} {table.group(2) if table else ''}".strip()] += 1

    def _ended(self, conn: Any) -> None:
        self._reset(conn.connection.dbapi_connection)

    def _reset(self, dbapi: Any, *args: Any) -> None:
        # Only a transaction psycopg has opened costs a BEGIN and an end on the wire.
        if self._counts() and dbapi.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.transactions += 1

    def reset(self) -> None:
        self.kinds.clear()
        self.transactions = 0


class Cpu:
    """This process's CPU and the database backends' CPU since `start`."""

    def __init__(self, database: str) -> None:
        self.database = database

    def start(self) -> None:
        self.own = time.process_time()
        self.backends = {pid: _cpu_seconds(pid) for pid in _backend_pids(self.database)}

    def read(self) -> tuple[float, float]:
        postgres = sum(
            _cpu_seconds(pid) - self.backends.get(pid, 0.0) for pid in _backend_pids(self.database)
        )
        return time.process_time() - self.own, postgres


def _figures(phase: str, n: int, counter: Counter, cpu: tuple[float, float], s: float) -> dict:
    statements = sum(counter.kinds.values())
    figures: dict[str, Any] = {
        f"cost_{phase}_statements": statements / n,
        f"cost_{phase}_transactions": counter.transactions / n,
        f"cost_{phase}_round_trips": (statements + 2 * counter.transactions) / n,
        f"cost_{phase}_process_cpu_ms": cpu[0] * 1000 / n,
        f"cost_{phase}_postgres_cpu_ms": cpu[1] * 1000 / n,
        f"cost_{phase}_wall_ms": s * 1000 / n,
        f"cost_{phase}_kinds": {
            kind: round(count / n, 3) for kind, count in counter.kinds.most_common()
        },
    }
    return figures


def run(count: int, concurrency: int = 32) -> dict[str, Any]:
    payloads = [make_padded_pdf(30 * 1024, seed=n) for n in range(count)]
    secret = new_secret()
    with (
        tempfile.TemporaryDirectory() as tmp,
        http_receiver(Path(tmp) / "receiver", secret) as server,
        postgres_database() as url,
    ):
        app = make_app(Path(tmp) / "data", url, worker_concurrency=concurrency,
                       worker_batch=concurrency, allowed_networks="127.0.0.0/8")  # fmt: skip
        try:
            waiting = waiting_documents(
                app, "http", http_values(server, secret, concurrency), payloads
            )
            counter, cpu = Counter(app.engine), Cpu(make_url(url).database or "")
            cpu.start()
            counter.on = True
            start = time.perf_counter()
            for document_id in waiting.document_ids:
                documents.approve(app, waiting.partner_id, document_id)
            seconds = time.perf_counter() - start
            figures = _figures("approval", count, counter, cpu.read(), seconds)
            counter.reset()
            cpu.start()
            worker = Worker(app, concurrency=concurrency)
            start = time.perf_counter()
            asyncio.run(worker.run(asyncio.Event(), drain=True))
            seconds = time.perf_counter() - start
            if worker.delivered != count:
                raise RuntimeError(f"{worker.delivered} of {count} delivered")
            figures |= _figures("delivery", count, counter, cpu.read(), seconds)
            waiting = waiting_documents(
                app, "http", http_values(server, secret, concurrency), payloads
            )
            counter.reset()
            figures |= _figures("live", count, counter, *asyncio.run(live(app, waiting, cpu)))
        finally:
            app.close()
    return figures


async def live(app: App, waiting: Waiting, cpu: Cpu) -> tuple[tuple[float, float], float]:
    """A worker idle, then documents approved one by one from another thread; the
    worker's CPU (the approving thread's left out) and PostgreSQL's, and the seconds."""
    stop = asyncio.Event()
    worker = Worker(app, concurrency=app.settings.worker_concurrency)
    running = asyncio.create_task(worker.run(stop))
    deadline = time.monotonic() + 30
    while not await asyncio.to_thread(backends, cpu.database, "LISTEN %"):  # idle, listening
        if time.monotonic() > deadline or running.done():
            raise RuntimeError("the worker did not start listening")
        await asyncio.sleep(0.01)
    approver_cpu = 0.0

    def approve() -> None:
        nonlocal approver_cpu
        for document_id in waiting.document_ids:
            documents.approve(app, waiting.partner_id, document_id)
        approver_cpu = time.thread_time()

    cpu.start()
    start = time.perf_counter()
    thread = threading.Thread(target=approve, name=APPROVER)
    thread.start()
    while worker.delivered < len(waiting.document_ids):
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - start
    own, postgres = cpu.read()
    thread.join()
    stop.set()
    await running
    return (own - approver_cpu, postgres), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=300)
    args = parser.parse_args()
    figures = run(args.documents)
    for phase in PHASES:
        print(
            f"{phase}: {figures[f'cost_{phase}_statements']:.2f} statements, "
            f"{figures[f'cost_{phase}_transactions']:.2f} transactions, "
            f"~{figures[f'cost_{phase}_round_trips']:.2f} round trips, "
            f"{figures[f'cost_{phase}_process_cpu_ms']:.2f} ms CPU in the process, "
            f"{figures[f'cost_{phase}_postgres_cpu_ms']:.2f} ms in PostgreSQL, "
            f"{figures[f'cost_{phase}_wall_ms']:.2f} ms wall, per export"
        )
        for kind, per in figures[f"cost_{phase}_kinds"].items():
            print(f"    {per:6.3f}  {kind}")
    save("bench", figures)


if __name__ == "__main__":
    main()
