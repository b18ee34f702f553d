"""peers_live_ratio and peers_backlog_ratio: passeur against two well-kept PostgreSQL job
queues, procrastinate and pgqueuer, doing the same work side by side.

Every contender: 2,000 documents of about 30 KB, each read from disk, wrapped with its
metadata, signed the Standard Webhooks way and POSTed with aiohttp to the same kind of
receiver (a process of its own, which verifies every signature and journals what it
accepted); two worker processes, 32 requests in flight in all (16 per process); a fresh
PostgreSQL database; a fresh receiver, warmed up first.

* live: the workers are idle and ready (measured: each one's LISTEN connection is up),
  then one client approves the documents (passeur, `documents.approve`) or defers the jobs
  (the peers) one by one as fast as it can. Clock: first approval → last 2xx, on the
  receiver's clock.
* backlog: everything is queued, then released at once while the workers are idle and
  ready: passeur's held exports by resuming their integration (bench/population.py); the
  peers' jobs deferred in one batch, one transaction (their bulk defer), which is when
  they become visible to the workers. Clock: release → last 2xx.

Every run is checked at the receiver: every expected delivery arrived, none twice, and
(the receiver refuses a bad signature) every signature valid. Medians of three alternating
rounds; the ratio is passeur's median over the faster peer's. Per export, also: the CPU
the worker processes and the database's backends spent, and the transactions committed.

    python -m bench.peers [--documents 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.harness import POSTGRES_ADMIN, make_app, postgres_database, save
from bench.http_throughput import http_values, write_files
from bench.peer_worker import TASK, procrastinate_app
from bench.population import held_exports, release, waiting_documents
from bench.servers import HttpServer, http_receiver
from bench.webhooks import post_files
from bench.workers import libpq_url, spawn, stop, wait_ready, worker_env
from passeur.connectors.http.signing import new_secret
from passeur.domain.exports import export_key
from passeur.formats.corpus import make_padded_pdf
from passeur.services import documents
from passeur.storage.db import reading
from passeur.storage.tables import exports

SIZE = 30 * 1024
PROCESSES = 2
IN_FLIGHT = 32
PER_PROCESS = IN_FLIGHT // PROCESSES
QUEUES = ("passeur", "procrastinate", "pgqueuer")
PEERS = QUEUES[1:]
MODES = ("live", "backlog")
WARM_UP = 50
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    rate: float  # deliveries per second, first approval (or release) → last 2xx
    worker_cpu_ms: float  # per export, both worker processes
    postgres_cpu_ms: float  # per export, the database's backends (the client's included)
    commits: float  # transactions committed per export, workers' start-up included
    ready_s: float  # spawn → the slower worker ready
    client_rate: float  # approvals (or jobs deferred) per second, in live mode the bound


# What a contender is handed: mode, folder, receiver, secret, documents (payloads and files).
Contender = Callable[[str, Path, HttpServer, str, list[bytes], list[Path]], Outcome]


class Journal:
    """The receiver's journal read as it grows: what it accepted, when, and repeats."""

    def __init__(self, server: HttpServer) -> None:
        self.path = server.journal
        self.offset = 0
        self.accepted: dict[str, float] = {}
        self.duplicates: list[str] = []

    def read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            if "accepted" in entry:
                self.accepted[entry["accepted"]] = entry["at"]
            else:
                self.duplicates.append(entry["duplicate"])

    def wait(self, count: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.accepted)} of {count} delivered in time")
            time.sleep(0.05)
            self.read()

    def check(self, expected: set[str], start: float) -> float:
        """Every expected key accepted once and nothing else; the seconds from `start` to
        the last acceptance."""
        got = {key: at for key, at in self.accepted.items() if not key.startswith("warm-")}
        if set(got) != expected:
            raise RuntimeError(
                f"receiver: {len(expected - set(got))} missing, {len(set(got) - expected)} "
                "unexpected"
            )
        if self.duplicates:
            raise RuntimeError(f"receiver: {len(self.duplicates)} duplicate deliveries")
        return max(got.values()) - start


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its threads, 0 once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _admin(query: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(POSTGRES_ADMIN), autocommit=True) as conn:
        return conn.execute(query, args).fetchall()


def _backend_pids(database: str) -> list[int]:
    rows = _admin("SELECT pid FROM pg_stat_activity WHERE datname = %s", database)
    return [int(row[0]) for row in rows]


def _commits(database: str) -> int:
    """Once no backend is connected, so that every backend has flushed its counters."""
    deadline = time.monotonic() + 30
    while _backend_pids(database):
        if time.monotonic() > deadline:
            raise RuntimeError(f"backends still connected to {database}")
        time.sleep(0.02)
    rows = _admin("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", database)
    return int(rows[0][0])


class Meter:
    """The clock, from `begin` (the client connected, the workers ready) to the last
    delivery's 2xx; and the CPU of the worker processes and of the database's backends
    in between, the client's included (read before the client disconnects: a backend's
    CPU is gone once it exits)."""

    def __init__(
        self, database: str, workers: list[subprocess.Popen[bytes]], journal: Journal
    ) -> None:
        self.database, self.workers, self.journal = database, workers, journal

    def begin(self) -> None:
        self.workers0 = sum(_cpu_seconds(p.pid) for p in self.workers)
        self.backends0 = {pid: _cpu_seconds(pid) for pid in _backend_pids(self.database)}
        self.start = time.time()

    def released(self) -> None:
        self.released_at = time.time()

    def end(self, count: int) -> None:
        """Wait for `count` deliveries past the warm-up, then read the CPU."""
        self.journal.wait(count + WARM_UP)
        self.workers_cpu = sum(_cpu_seconds(p.pid) for p in self.workers) - self.workers0
        self.postgres_cpu = sum(
            _cpu_seconds(pid) - self.backends0.get(pid, 0.0) for pid in _backend_pids(self.database)
        )

    def outcome(self, expected: set[str], commits: int, ready: float) -> Outcome:
        n = len(expected)
        seconds = self.journal.check(expected, self.start)
        return Outcome(
            n / seconds, self.workers_cpu * 1000 / n, self.postgres_cpu * 1000 / n,
            commits / n, ready, n / (self.released_at - self.start),
        )  # fmt: skip


@contextlib.contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    """A fresh database: its SQLAlchemy URL and its name."""
    with postgres_database() as url:
        yield url, make_url(url).database or ""


def passeur(
    mode: str, folder: Path, server: HttpServer, secret: str, payloads: list[bytes],
    files: list[Path],
) -> Outcome:  # fmt: skip
    with fresh_database() as (url, database):
        app = make_app(folder, url, worker_concurrency=PER_PROCESS, worker_batch=PER_PROCESS,
                       allowed_networks="127.0.0.0/8")  # fmt: skip
        try:
            values = http_values(server, secret, IN_FLIGHT)
            if mode == "live":
                waiting = waiting_documents(app, "http", values, payloads)
            else:
                held = held_exports(app, "http", values, payloads)
            app.engine.dispose()
            commits0 = _commits(database)
            env = worker_env(app, PASSEUR_WORKER_BATCH=str(PER_PROCESS))
            workers = [spawn(env, PER_PROCESS) for _ in range(PROCESSES)]
            try:
                ready = wait_ready(workers, url)
                with app.engine.connect() as conn:  # the client connected, as the peers'
                    conn.exec_driver_sql("SELECT 1")
                meter = Meter(database, workers, Journal(server))
                meter.begin()
                if mode == "live":
                    for document_id in waiting.document_ids:
                        documents.approve(app, waiting.partner_id, document_id)
                else:
                    release(app, held)
                meter.released()
                meter.end(len(payloads))
            finally:
                stop(workers)
            with reading(app.engine) as conn:
                rows = conn.execute(
                    select(exports.c.document_id, exports.c.integration_id, exports.c.version)
                ).all()
        finally:
            app.close()
        expected = {export_key(*row) for row in rows}
        return meter.outcome(expected, _commits(database) - commits0, ready)


def peer(queue: str) -> Contender:
    def contender(
        mode: str, folder: Path, server: HttpServer, secret: str, payloads: list[bytes],
        files: list[Path],
    ) -> Outcome:  # fmt: skip
        jobs = [{"n": n, "path": str(path), "key": f"{queue}-{n}"} for n, path in enumerate(files)]
        with fresh_database() as (url, database):
            dsn = libpq_url(url)
            asyncio.run(INSTALL[queue](dsn))
            commits0 = _commits(database)
            workers = [spawn_peer(queue, dsn, server, secret, folder, n) for n in range(PROCESSES)]
            try:
                # pgqueuer LISTENs and dequeues on one connection: ready once, after its
                # LISTEN and a first dequeue, it has asked how much work is queued (its
                # last statement before it waits for a notification) and sits idle.
                pattern, state = ("LISTEN %", "%") if queue == "procrastinate" else (
                    "%queued_work%", "idle")  # fmt: skip
                ready = wait_ready(workers, url, query_like=pattern, state=state)
                meter = Meter(database, workers, Journal(server))
                asyncio.run(DEFER[queue](dsn, jobs, mode == "live", meter))
            except RuntimeError as error:
                raise RuntimeError(f"{queue}: {error}\n{_logs(folder, queue)}") from error
            finally:
                stop(workers)
            expected = {str(job["key"]) for job in jobs}
            return meter.outcome(expected, _commits(database) - commits0, ready)

    return contender


def spawn_peer(
    queue: str, dsn: str, server: HttpServer, secret: str, folder: Path, n: int
) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{queue}-worker{n}.log").open("wb") as log:  # the child keeps its copy
        return subprocess.Popen(
            [
                sys.executable, "-m", "bench.peer_worker", queue, "--dsn", dsn, "--url",
                server.url, "--secret", secret, "--concurrency", str(PER_PROCESS), "--name",
                f"bench-{queue}-{n}",
            ],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _logs(folder: Path, queue: str) -> str:
    """The end of the workers' logs, to say why a run failed."""
    return "\n".join(p.read_text()[-1500:] for p in sorted(folder.glob(f"{queue}-worker*.log")))


async def install_procrastinate(dsn: str) -> None:
    app = procrastinate_app(dsn)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


async def defer_procrastinate(
    dsn: str, jobs: list[dict[str, Any]], one_by_one: bool, meter: Meter
) -> None:
    """Defer every job (one by one, or in one batch), and wait for their deliveries."""
    app = procrastinate_app(dsn)
    async with app.open_async():
        await app.check_connection_async()
        deferrer = app.configure_task(TASK)
        meter.begin()
        if one_by_one:
            for job in jobs:
                await deferrer.defer_async(**job)
        else:
            await deferrer.batch_defer_async(*jobs)
        meter.released()
        meter.end(len(jobs))


async def install_pgqueuer(dsn: str) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(dsn)
    try:
        await Queries(AsyncpgDriver(conn)).install()
    finally:
        await conn.close()


async def defer_pgqueuer(
    dsn: str, jobs: list[dict[str, Any]], one_by_one: bool, meter: Meter
) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(dsn)
    try:
        queries = Queries(AsyncpgDriver(conn))
        payloads: list[bytes | None] = [json.dumps(job).encode() for job in jobs]
        meter.begin()
        if one_by_one:
            for payload in payloads:
                await queries.enqueue(TASK, payload)
        else:
            await queries.enqueue([TASK] * len(jobs), payloads, [0] * len(jobs))
        meter.released()
        meter.end(len(jobs))
    finally:
        await conn.close()


INSTALL: dict[str, Callable[[str], Coroutine[Any, Any, None]]] = {
    "procrastinate": install_procrastinate,
    "pgqueuer": install_pgqueuer,
}
DEFER: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
    "procrastinate": defer_procrastinate,
    "pgqueuer": defer_pgqueuer,
}
CONTENDERS: dict[str, Contender] = {
    "passeur": passeur,
    "procrastinate": peer("procrastinate"),
    "pgqueuer": peer("pgqueuer"),
}


def run(count: int, rounds: int = 3) -> dict[str, float]:
    payloads = [make_padded_pdf(SIZE, seed=n) for n in range(count)]
    secret = new_secret()
    seen: dict[tuple[str, str], list[Outcome]] = {(q, m): [] for q in QUEUES for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_files(folder / "documents", payloads)
        for n in range(rounds):
            order = QUEUES if n % 2 == 0 else QUEUES[::-1]
            for queue in order:
                for mode in MODES:
                    run_folder = folder / f"{n}-{queue}-{mode}"
                    with http_receiver(run_folder / "receiver", secret) as server:
                        asyncio.run(
                            post_files(server.url, secret, files[:WARM_UP], "warm", IN_FLIGHT)
                        )
                        got = CONTENDERS[queue](mode, run_folder, server, secret, payloads, files)
                    seen[(queue, mode)].append(got)
                    print(f"  round {n + 1} {queue:<13} {mode:<7} {_describe(got)}", flush=True)
    figures: dict[str, float] = {"peers_documents": count, "peers_rounds": rounds}
    for (queue, mode), outcomes in seen.items():
        for name in asdict(outcomes[0]):
            value = statistics.median(getattr(o, name) for o in outcomes)
            figures[f"peers_{mode}_{queue}_{name}"] = value
    for mode in MODES:
        faster = max(figures[f"peers_{mode}_{p}_rate"] for p in PEERS)
        figures[f"peers_{mode}_ratio"] = figures[f"peers_{mode}_passeur_rate"] / faster
    return figures


def _describe(o: Outcome) -> str:
    return (
        f"{o.rate:7.0f}/s  worker CPU {o.worker_cpu_ms:.2f} ms, PostgreSQL CPU "
        f"{o.postgres_cpu_ms:.2f} ms, {o.commits:.2f} commits per export; ready in "
        f"{o.ready_s:.2f} s; client {o.client_rate:.0f}/s"
    )


def report(figures: dict[str, float]) -> str:
    lines = [f"{'mode':<8}" + "".join(f"{q:>15}" for q in QUEUES) + "   ratio"]
    for mode in MODES:
        rates = "".join(f"{figures[f'peers_{mode}_{q}_rate']:>13.0f}/s" for q in QUEUES)
        lines.append(f"{mode:<8}{rates}   {figures[f'peers_{mode}_ratio']:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.documents, args.rounds)
    print(report(figures))
    print("targets: live ratio >= 1.0, backlog ratio >= 1.5 (passeur over the faster peer)")
    save("bench", figures)


if __name__ == "__main__":
    main()
