"""worker_cpu_ms: the worker's CPU per delivery, the figure that noise on a shared machine
moves least. A backlog of held HTTP exports (30 KB each) is released, then one worker in
this process (`--drain`, 32 in flight) delivers them to a loopback receiver in its own
process; this process's CPU (`time.process_time`) over the run, divided by the deliveries,
against the bare aiohttp sender's CPU per request (read, wrap, sign, POST) in the same run.
Also the statements and transactions per delivery (SQLAlchemy events), and with
`--profile FILE` a cProfile of the worker's run (all threads: the database thread too).

    python -m bench.worker_cpu [--database sqlite|postgres] [--documents 1000] [--profile F]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.harness import freeze_like_the_cli, make_app, postgres_database, save
from bench.http_throughput import http_values, write_files
from bench.population import deliveries, held_exports, release
from bench.servers import http_receiver
from bench.webhooks import _timed, post_files
from passeur.connectors import registry
from passeur.connectors.http.signing import new_secret
from passeur.delivery.worker import Worker
from passeur.formats.corpus import make_padded_pdf


class Statements:
    """Statements and transactions on an engine while `on`."""

    def __init__(self, engine: Any) -> None:
        self.kinds: Counter[str] = Counter()
        self.commits = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on:
            self.kinds[" ".join(statement.split()[:3])[:40]] += 1

    def _commit(self, conn: Any) -> None:
        if self.on:
            self.commits += 1


@contextlib.contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """cProfile every thread started meanwhile (the worker's database trips run in
    `asyncio.to_thread`), and the main one."""
    if not path:
        yield
        return
    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    main = cProfile.Profile(time.thread_time)
    main.enable()
    try:
        yield
    finally:
        main.disable()
        threading.Thread.run = original  # type: ignore[method-assign]
        stats = pstats.Stats(main)
        for profile in profiles:
            stats.add(profile)
        stats.dump_stats(path)


async def connector_alone_cpu(app: Any, c: int) -> float:
    """The HTTP connector's CPU, handed every target and parcel loaded beforehand (the
    receiver takes them again as repeats, with the same 2xx)."""
    jobs = deliveries(app)
    connector = registry.make_connector("http", app.settings.network_policy)
    try:

        async def send(n: int) -> None:
            await connector.deliver(jobs[n].target, jobs[n].parcel)

        cpu = time.process_time()
        await _timed(send, len(jobs), c)
        return time.process_time() - cpu
    finally:
        await connector.close()


class _TripClock:
    """The CPU of the worker's database trips (run in a thread: `time.thread_time`)."""

    def __init__(self, worker: Worker) -> None:
        self.seconds = 0.0
        trip = worker._trip

        def timed(*args: Any) -> Any:
            start = time.thread_time()
            try:
                return trip(*args)
            finally:
                self.seconds += time.thread_time() - start

        worker._trip = timed  # type: ignore[method-assign]


def measure(database: str, count: int, c: int, profile: str | None) -> dict[str, Any]:
    payloads = [make_padded_pdf(30 * 1024, seed=n) for n in range(count)]
    secret = new_secret()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        server = stack.enter_context(http_receiver(folder / "receiver", secret))
        url = stack.enter_context(postgres_database()) if database == "postgres" else ""
        files = write_files(folder / "documents", payloads)
        asyncio.run(post_files(server.url, secret, files[:200], "warm-up", c))
        cpu = time.process_time()
        wall = time.perf_counter()
        asyncio.run(post_files(server.url, secret, files, "bare", c))
        bare_cpu, bare_wall = time.process_time() - cpu, time.perf_counter() - wall
        app = make_app(folder / "data", url, worker_concurrency=c, worker_batch=c,
                       allowed_networks="127.0.0.0/8")  # fmt: skip
        try:
            held = held_exports(app, "http", http_values(server, secret, c), payloads)
            release(app, held)
            counted = Statements(app.engine)
            worker = Worker(app, concurrency=c)
            trips = _TripClock(worker)
            freeze_like_the_cli()
            counted.on = True
            cpu = time.process_time()
            wall = time.perf_counter()
            with profiled(profile):
                asyncio.run(worker.run(asyncio.Event(), drain=True))
            mine_cpu, mine_wall = time.process_time() - cpu, time.perf_counter() - wall
            counted.on = False
            if worker.delivered != count:
                raise RuntimeError(f"{worker.delivered} of {count} delivered")
            alone_cpu = asyncio.run(connector_alone_cpu(app, c))
        finally:
            app.close()
    return {
        f"worker_cpu_ms_{database}": mine_cpu * 1000 / count,
        f"worker_bare_cpu_ms_{database}": bare_cpu * 1000 / count,
        f"worker_rate_ratio_{database}": bare_wall / mine_wall,
        f"worker_trips_cpu_ms_{database}": trips.seconds * 1000 / count,
        f"worker_connector_alone_cpu_ms_{database}": alone_cpu * 1000 / count,
        f"worker_statements_{database}": sum(counted.kinds.values()) / count,
        f"worker_commits_{database}": counted.commits / count,
        "kinds": {k: round(v / count, 3) for k, v in counted.kinds.most_common()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    figures = measure(args.database, args.documents, args.concurrency, args.profile)
    kinds = figures.pop("kinds")
    db = args.database
    print(
        f"{db}: worker {figures[f'worker_cpu_ms_{db}']:.3f} ms CPU per delivery, bare sender "
        f"{figures[f'worker_bare_cpu_ms_{db}']:.3f} ms, the connector alone "
        f"{figures[f'worker_connector_alone_cpu_ms_{db}']:.3f} ms; database trips "
        f"{figures[f'worker_trips_cpu_ms_{db}']:.3f} ms; rate ratio "
        f"{figures[f'worker_rate_ratio_{db}']:.2f}; {figures[f'worker_statements_{db}']:.2f} "
        f"statements and {figures[f'worker_commits_{db}']:.3f} commits per delivery"
    )
    for kind, n in kinds.items():
        print(f"  {n:8.3f}  {kind}")
    if args.save:
        save("bench", figures)


if __name__ == "__main__":
    main()
